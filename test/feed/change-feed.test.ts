// The origin's change feed (GET /_meridian/feed): typed changes in order, paging, long poll, and
// refusals of bad parameters, read over HTTP from a real origin on loopback.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import {
  at, expectOciError, imageManifest, manifestBytes, pushBlob, pushImageBlobs, pushManifest, sha256, uniqueName, utf8,
} from '../helpers/registry-client.ts'
import { FEED_PATH } from '../../oci/pull/feed.ts'
import { openDatabase, closeDatabase } from '../../db/client.ts'
import { appendChange } from '../../db/queries/changes.ts'
import { allChanges, feedPage } from './feed-model.ts'
import { setRepositoryPublic } from '../../db/queries/visibility.ts'

describe('change feed', () => {
  let origin: TestOrigin
  // No replication: placements of other locations would interleave with the pushes' changes.
  beforeAll(async () => { origin = await startTestOrigin({ edit: (c) => ({ ...c, replication: { ...c.replication, enabled: false } }) }) })
  afterAll(async () => { await origin?.close() })

  const headOf = async () => (await feedPage(origin.url, `after=0&limit=1`)).head

  it('lists a push as typed changes in commit order, the manifest payload being its exact bytes', async () => {
    const name = uniqueName('feed')
    const start = await headOf()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const manifest = imageManifest(config, layers, { annotations: { 'org.example.note': 'x' }, artifactType: 'application/vnd.example+json' })
    const pushed = await pushManifest(origin.url, name, 'v1', manifest)
    const changes = await allChanges(origin.url, start)
    expect(changes.map((c) => c.kind)).toEqual([
      'placement.present', 'blob.linked', // config
      'placement.present', 'blob.linked', // layer
      'placement.present', 'blob.linked', 'manifest.put', 'tag.set', // manifest: its bytes are a blob too
    ])
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.seq).toBeGreaterThan(changes[i - 1]!.seq)
    expect(changes[1]).toMatchObject({ kind: 'blob.linked', repository: name, digest: config.digest, size: config.size })
    expect(changes[2]).toMatchObject({ kind: 'placement.present', digest: layers[0]!.digest, location: origin.config.preference[0], size: layers[0]!.size })
    const put = changes[6]!
    if (put.kind !== 'manifest.put') throw new Error('expected manifest.put')
    expect(put).toMatchObject({
      repository: name, digest: pushed.digest, mediaType: pushed.mediaType, size: pushed.size, subject: null,
      artifactType: 'application/vnd.example+json', annotations: { 'org.example.note': 'x' },
    })
    const decoded = new Uint8Array(Buffer.from(put.payload!, 'base64'))
    expect(decoded).toEqual(manifestBytes(manifest))
    expect(sha256(decoded)).toBe(pushed.digest)
    expect(changes[7]).toMatchObject({ kind: 'tag.set', repository: name, tag: 'v1', digest: pushed.digest })
  })

  it('answers a deleted manifest with a null payload, followed by its deletion', async () => {
    const name = uniqueName('feed')
    const start = await headOf()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const pushed = await pushManifest(origin.url, name, 'gone', imageManifest(config, layers))
    expect((await fetch(at(origin.url, `/v2/${name}/manifests/${pushed.digest}`), { method: 'DELETE' })).status).toBe(202)
    const changes = await allChanges(origin.url, start)
    const put = changes.find((c) => c.kind === 'manifest.put')
    expect(put).toMatchObject({ payload: null, digest: pushed.digest })
    // deleteManifest: the manifest's own bytes unlinked, its tags gone, then the manifest.
    expect(changes.slice(-3)).toMatchObject([
      { kind: 'blob.unlinked', repository: name, digest: pushed.digest },
      { kind: 'tag.deleted', repository: name, tag: 'gone' },
      { kind: 'manifest.deleted', repository: name, digest: pushed.digest },
    ])
  })

  it('pages with next and reports the head', async () => {
    const name = uniqueName('feed')
    const start = await headOf()
    for (let i = 0; i < 3; i++) await pushBlob(origin.url, name, utf8(`page blob ${i}`))
    const first = await feedPage(origin.url, `after=${start}&limit=4`)
    expect(first.changes).toHaveLength(4)
    expect(first.next).toBe(first.changes[3]!.seq)
    expect(first.head).toBe(start + 6)
    const second = await feedPage(origin.url, `after=${first.next}&limit=4`)
    expect(second.changes).toHaveLength(2)
    expect(second.changes[0]!.seq).toBe(first.next + 1)
    expect(second.next).toBe(start + 6)
    const empty = await feedPage(origin.url, `after=${second.next}`)
    expect(empty).toEqual({ changes: [], next: second.next, head: second.next })
  })

  it('fills the size of blob.linked rows appended before they carried one', async () => {
    const name = uniqueName('feed')
    const blob = await pushBlob(origin.url, name, utf8('an older row'))
    const start = await headOf()
    await appendChange(origin.db, 'blob.linked', name, { digest: blob.digest })
    const [change] = (await feedPage(origin.url, `after=${start}`)).changes
    expect(change).toMatchObject({ kind: 'blob.linked', repository: name, digest: blob.digest, size: blob.size })
  })

  it('passes repository visibility through, public or private again', async () => {
    const name = uniqueName('feed')
    const start = await headOf()
    await setRepositoryPublic(origin.db, name, true)
    await setRepositoryPublic(origin.db, name, false)
    const changes = await allChanges(origin.url, start)
    expect(changes).toMatchObject([
      { kind: 'repository.visibility', repository: name, public: true },
      { kind: 'repository.visibility', repository: name, public: false },
    ])
  })

  it('long-polls: answers as soon as a push commits', async () => {
    const name = uniqueName('feed')
    const start = await headOf()
    const polled = feedPage(origin.url, `after=${start}&wait=10`).then((page) => ({ page, at: performance.now() }))
    await new Promise((resolve) => setTimeout(resolve, 300))
    await pushBlob(origin.url, name, utf8('wake the feed'))
    const pushedAt = performance.now()
    const { page, at: answeredAt } = await polled
    expect(page.changes.map((c) => c.kind)).toEqual(['placement.present', 'blob.linked'])
    // The push's own response and the poll's are both in flight: "at once" is well under 100 ms.
    expect(answeredAt - pushedAt).toBeLessThan(100)
  })

  it('long-polls: a change committed by another process is seen within the poll interval', async () => {
    const start = await headOf()
    const polled = feedPage(origin.url, `after=${start}&wait=10`).then((page) => ({ page, at: performance.now() }))
    await new Promise((resolve) => setTimeout(resolve, 100))
    const other = await openDatabase(origin.config.databaseUrl)
    const committedAt = performance.now()
    try {
      await appendChange(other, 'tag.deleted', 'other/process', { tag: 'x' })
    } finally {
      await closeDatabase(other)
    }
    const { page, at: answeredAt } = await polled
    expect(page.changes).toMatchObject([{ kind: 'tag.deleted', repository: 'other/process', tag: 'x' }])
    expect(answeredAt - committedAt).toBeLessThan(1000)
  })

  it('long-polls: answers an empty page once the wait is over', async () => {
    const start = await headOf()
    const t0 = performance.now()
    const page = await feedPage(origin.url, `after=${start}&wait=0.5`)
    const took = performance.now() - t0
    expect(page).toEqual({ changes: [], next: start, head: start })
    expect(took).toBeGreaterThanOrEqual(450)
    expect(took).toBeLessThan(2000)
  })

  it('refuses bad parameters with a spec error, never a 500', async () => {
    for (const query of ['after=-1', 'after=abc', 'after=1.5', 'limit=0', 'limit=5001', 'limit=ten', 'wait=31', 'wait=-1', 'wait=soon', 'after=']) {
      const res = await fetch(`${origin.url}${FEED_PATH}?${query}`)
      await expectOciError(res, 'PAGINATION_NUMBER_INVALID', 400)
    }
  })
})

describe('an edge ahead of the origin', () => {
  it('is told 410 to rebuild from the snapshot (an origin database restored from a backup), never an empty page it would wait on', async () => {
    const origin = await startTestOrigin()
    try {
      const res = await fetch(`${origin.url}/_meridian/feed?after=1000&wait=1`)
      expect(res.status).toBe(410)
      await res.body?.cancel()
    } finally {
      await origin.close()
    }
  })
})
