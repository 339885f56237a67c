// The snapshot (GET /_meridian/snapshot): the same index the feed builds, streamed as NDJSON page
// by page, with the position read before the tables.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { at, imageManifest, indexManifest, pushBlob, pushImage, pushImageBlobs, pushManifest, uniqueName, utf8 } from '../helpers/registry-client.ts'
import { SNAPSHOT_PATH, type SnapshotLine } from '../../oci/pull/feed.ts'
import type { Db } from '../../db/client.ts'
import type { SQLiteTable } from 'drizzle-orm/sqlite-core'
import { publicRepositories, repositories } from '../../db/schema.ts'
import { prepareFeedQueries } from '../../db/queries/feed.ts'
import { snapshotStream } from '../../origin/feed/snapshot.ts'
import { allChanges, applyChange, applyLine, emptyModel, snapshotLines } from './feed-model.ts'
import { setRepositoryPublic } from '../../db/queries/visibility.ts'

describe('snapshot', () => {
  let origin: TestOrigin
  beforeAll(async () => { origin = await startTestOrigin() })
  afterAll(async () => { await origin?.close() })

  it('holds what applying the whole feed builds, after pushes and deletes', async () => {
    const name = uniqueName('snap')
    const kept = await pushImage(origin.url, name, 'kept', { annotations: { a: 'b' } })
    const { config, layers } = await pushImageBlobs(origin.url, name, { layers: 2 })
    const dropped = await pushManifest(origin.url, name, 'dropped', imageManifest(config, layers))
    await pushManifest(origin.url, name, 'multi', indexManifest([kept]))
    const stray = await pushBlob(origin.url, name, utf8('unlinked later'))
    await setRepositoryPublic(origin.db, name, true)
    await setRepositoryPublic(origin.db, `${name}-was-public`, true)
    await setRepositoryPublic(origin.db, `${name}-was-public`, false)
    await setRepositoryPublic(origin.db, `${name}-not-pushed`, true)
    expect((await fetch(at(origin.url, `/v2/${name}/manifests/${dropped.digest}`), { method: 'DELETE' })).status).toBe(202)
    expect((await fetch(at(origin.url, `/v2/${name}/blobs/${stray.digest}`), { method: 'DELETE' })).status).toBe(202)
    expect((await fetch(at(origin.url, `/v2/${name}/manifests/multi`), { method: 'DELETE' })).status).toBe(202)
    // Replication settles first, so feed and snapshot see one state.
    await origin.worker?.drain()

    const lines = await snapshotLines(origin.url)
    const header = lines[0]!
    const end = lines[lines.length - 1]!
    expect(header.type).toBe('header')
    expect(end).toEqual({ type: 'end', records: lines.length - 2 })
    const fromSnapshot = emptyModel()
    for (const l of lines) applyLine(fromSnapshot, l)
    const fromFeed = emptyModel()
    for (const c of await allChanges(origin.url, 0, 7)) applyChange(fromFeed, c)
    expect(fromSnapshot).toEqual(fromFeed)

    expect(fromSnapshot.tags.get(`${name}:kept`)).toBe(kept.digest)
    expect(fromSnapshot.tags.has(`${name}:dropped`)).toBe(false)
    expect(fromSnapshot.tags.has(`${name}:multi`)).toBe(false)
    expect(fromSnapshot.manifests.get(`${name}@${kept.digest}`)).toMatchObject({ mediaType: kept.mediaType, size: kept.size, annotations: { a: 'b' } })
    expect(fromSnapshot.manifests.has(`${name}@${dropped.digest}`)).toBe(false)
    expect(fromSnapshot.blobs.has(`${name}@${stray.digest}`)).toBe(false)
    expect(fromSnapshot.blobs.get(`${name}@${config.digest}`)).toBe(config.size)
    expect([...fromSnapshot.public].filter((r) => r.startsWith(name)).sort()).toEqual([name, `${name}-not-pushed`])
    expect(fromSnapshot.repositories.has(`${name}-not-pushed`)).toBe(false)
    // The placement of the stray's bytes stays: unlinking is not garbage collection.
    expect(fromSnapshot.placements.get(`${stray.digest}@${origin.config.preference[0]}`)).toBe(stray.size)
  })

  it('starts with the position: the feed after it brings a snapshot up to date', async () => {
    const name = uniqueName('snap')
    const lines = await snapshotLines(origin.url)
    const header = lines[0] as Extract<SnapshotLine, { type: 'header' }>
    const moved = await pushImage(origin.url, name, 'later')
    await origin.worker?.drain()
    const index = emptyModel()
    for (const l of lines) applyLine(index, l)
    for (const c of await allChanges(origin.url, header.position)) applyChange(index, c)
    const fresh = emptyModel()
    for (const l of await snapshotLines(origin.url)) applyLine(fresh, l)
    expect(index).toEqual(fresh)
    expect(index.tags.get(`${name}:later`)).toBe(moved.digest)
  })

  it('pages public repositories like every other table', async () => {
    const names = Array.from({ length: 1203 }, (_, i) => `pub/r${String(i).padStart(4, '0')}`)
    // Straight into the table: 1,203 flips, a commit each, would hold the test's event loop (and
    // the origin's, the same one) for seconds on SQLite.
    await insertInBatches(origin.db, publicRepositories, names.map((repository) => ({ repository, createdAt: Date.now() })))
    const lines = await snapshotLines(origin.url)
    const listed = lines.flatMap((l) => (l.type === 'public' && l.repository.startsWith('pub/') ? [l.repository] : []))
    expect(listed).toEqual(names)
  })

  it('streams a large registry in many chunks', async () => {
    const count = 30_000
    // Set up through SQL directly: 30k pushes would take minutes.
    await insertInBatches(origin.db, repositories, Array.from({ length: count }, (_, i) => ({ name: `bulk/r${i}`, createdAt: Date.now() })))
    const res = await fetch(`${origin.url}${SNAPSHOT_PATH}`)
    expect(res.headers.get('content-type')).toBe('application/x-ndjson')
    expect(res.headers.get('content-length')).toBeNull()
    expect(res.headers.get('transfer-encoding')).toBe('chunked')
    const reader = res.body!.getReader()
    let chunks = 0
    let bytes = 0
    let tail = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks++
      bytes += value.byteLength
      tail = (tail + new TextDecoder().decode(value)).slice(-200)
    }
    const end = JSON.parse(tail.trim().split('\n').pop()!) as SnapshotLine
    expect(end.type).toBe('end')
    expect((end as { records: number }).records).toBeGreaterThanOrEqual(count)
    // 500 records a page: a body built whole would arrive in a handful of large reads.
    expect(chunks).toBeGreaterThan(20)
    expect(bytes).toBeGreaterThan(count * 30)
  })

  it('reads the tables only as the reader asks: a repository added mid-stream is in it', async () => {
    // More than one page of repositories, so the first page read leaves work for later.
    await insertInBatches(origin.db, repositories, Array.from({ length: 1200 }, (_, i) => ({ name: `lazy/r${i}`, createdAt: Date.now() })))
    const reader = snapshotStream(prepareFeedQueries(origin.db)).getReader()
    const decoder = new TextDecoder()
    let text = decoder.decode((await reader.read()).value) // the header
    text += decoder.decode((await reader.read()).value) // the first page of repositories
    await origin.db.insert(repositories).values({ name: 'zz/added-mid-stream', createdAt: Date.now() }).run()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    expect(text).toContain('"name":"zz/added-mid-stream"')
  })
})

/** Rows straight into a table, in one transaction of multi-row inserts. */
async function insertInBatches<T extends SQLiteTable>(db: Db, table: T, rows: T['$inferInsert'][]): Promise<void> {
  // 1,000 rows (2,000 parameters here) a statement: under SQLite's and PostgreSQL's limits.
  await db.transaction(async (tx) => {
    for (let i = 0; i < rows.length; i += 1000) await tx.insert(table).values(rows.slice(i, i + 1000)).run()
  })
}
