import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SnapshotLine } from '../../oci/pull/feed.ts'
import { BASE_AT, base64, changeLog, linesOf, manifestBody, tempStore } from '../../test/helpers/index-feed.ts'
import { createSqlIndex, type SqlIndex } from './sql-index.ts'
import { SnapshotError } from './snapshot.ts'
import { SCHEMA_VERSION } from './schema.ts'

const A = 'sha256:' + 'a'.repeat(64)
const B = 'sha256:' + 'b'.repeat(64)
const L = 'sha256:' + 'c'.repeat(64)
const tag = (t: string) => ({ kind: 'tag' as const, tag: t })
const digest = (d: string) => ({ kind: 'digest' as const, digest: d })
const text = (bytes: Uint8Array | undefined) => (bytes ? new TextDecoder().decode(bytes) : null)

let db: ReturnType<typeof tempStore>
let index: SqlIndex
beforeEach(async () => {
  db = tempStore()
  index = await createSqlIndex(db.store)
})
afterEach(async () => {
  await db.cleanup()
})

describe('applying the change feed', () => {
  it('serves tags, manifests, blobs and placements the feed set, and moves tags', async () => {
    const c = changeLog()
    await index.apply([
      c.blobLinked({ repository: 'org/app', digest: L, size: 1234 }),
      c.placementPresent({ digest: L, location: 'eu', size: 1234 }),
      c.placementPresent({ digest: L, location: 'us', size: 1234 }),
      c.manifestPut(manifestBody('org/app', A, '{"v":1}')),
      c.tagSet({ repository: 'org/app', tag: 'latest', digest: A }),
      c.manifestPut(manifestBody('org/app', B, '{"v":2}')),
    ])
    expect(await index.hasRepository('org/app')).toBe(true)
    expect(await index.hasRepository('org/other')).toBe(false)
    const byTag = await index.manifest('org/app', tag('latest'))
    expect(byTag).toMatchObject({ digest: A, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 7 })
    expect(text(byTag?.payload)).toBe('{"v":1}')
    expect(text((await index.manifest('org/app', digest(B)))?.payload)).toBe('{"v":2}')
    expect(await index.blob('org/app', L)).toEqual({ digest: L, size: 1234 })
    expect(await index.blob('org/other', L)).toBeNull()
    expect((await index.placements(L)).sort()).toEqual(['eu', 'us'])
    expect(await index.position()).toBe(6)

    await index.apply([c.tagSet({ repository: 'org/app', tag: 'latest', digest: B })])
    expect((await index.manifest('org/app', tag('latest')))?.digest).toBe(B)
  })

  it('forgets what the feed deletes, and keeps the repository visible', async () => {
    const c = changeLog()
    await index.apply([
      c.blobLinked({ repository: 'org/app', digest: L, size: 10 }),
      c.placementPresent({ digest: L, location: 'eu', size: 10 }),
      c.manifestPut(manifestBody('org/app', A, '{}')),
      c.tagSet({ repository: 'org/app', tag: 'v1', digest: A }),
    ])
    await index.apply([
      c.tagDeleted({ repository: 'org/app', tag: 'v1' }),
      c.manifestDeleted({ repository: 'org/app', digest: A }),
      c.blobUnlinked({ repository: 'org/app', digest: L }),
      c.placementRemoved({ digest: L, location: 'eu' }),
    ])
    expect(await index.manifest('org/app', tag('v1'))).toBeNull()
    expect(await index.manifest('org/app', digest(A))).toBeNull()
    expect(await index.blob('org/app', L)).toBeNull()
    expect(await index.placements(L)).toEqual([])
    expect(await index.tags('org/app', { n: 10, last: null })).toEqual([])
    // The origin never removes a repository row, so neither does the index.
    expect(await index.hasRepository('org/app')).toBe(true)
    expect(await index.position()).toBe(8)
  })

  it('answers a tag whose manifest is gone as a miss, not a broken record', async () => {
    const c = changeLog()
    await index.apply([c.tagSet({ repository: 'r', tag: 't', digest: A })])
    expect(await index.manifest('r', tag('t'))).toBeNull()
  })

  it('skips changes at or below its position, so a replayed page changes nothing', async () => {
    const c = changeLog()
    const first = [
      c.manifestPut(manifestBody('r', A, 'one')),
      c.tagSet({ repository: 'r', tag: 't', digest: A }),
    ]
    const second = [c.manifestPut(manifestBody('r', B, 'two')), c.tagSet({ repository: 'r', tag: 't', digest: B })]
    expect(await index.apply(first)).toBe(2)
    expect(await index.apply(second)).toBe(4)
    // Replaying the first page would move the tag back to A if it were applied.
    expect(await index.apply(first)).toBe(4)
    expect(await index.apply([...first, ...second])).toBe(4)
    expect((await index.manifest('r', tag('t')))?.digest).toBe(B)
  })

  it('lets a stale applier racing a newer one change nothing (overlapping cron runs)', async () => {
    const c = changeLog()
    const first = [c.manifestPut(manifestBody('r', A, 'one')), c.tagSet({ repository: 'r', tag: 't', digest: A })]
    const second = [c.manifestPut(manifestBody('r', B, 'two')), c.tagSet({ repository: 'r', tag: 't', digest: B })]
    // `slow` reads position 0, builds its batch, and is held at the database until `fast` is done.
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const store = db.store
    let held = false
    const slow = await createSqlIndex({ ...store, all: store.all.bind(store), batch: async (s) => { if (held) await gate; return store.batch(s) } })
    held = true
    const stale = slow.apply(first)
    await new Promise((r) => setTimeout(r, 20))
    await index.apply([...first, ...second])
    release()
    await stale
    expect((await index.manifest('r', tag('t')))?.digest).toBe(B)
    expect(await index.position()).toBe(4)
  })

  it('keeps referrers with their artifact type and annotations', async () => {
    const c = changeLog()
    await index.apply([
      c.manifestPut(manifestBody('r', A, 'subject')),
      c.manifestPut(manifestBody('r', B, 'sig', { subject: A, artifactType: 'application/x.sig', annotations: { 'org.example': 'yes' } })),
    ])
    expect(await index.referrers('r', A)).toEqual([
      { digest: B, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 3, artifactType: 'application/x.sig', annotations: { 'org.example': 'yes' } },
    ])
    expect(await index.referrers('other', A)).toEqual([])
  })

  it('records location health as the origin last saw it', async () => {
    const c = changeLog()
    await index.apply([c.locationHealth({ location: 'eu', readable: false }), c.locationHealth({ location: 'us', readable: true })])
    await index.apply([c.locationHealth({ location: 'eu', readable: true })])
    expect(await index.locationHealth()).toEqual([
      { location: 'eu', readable: true, at: BASE_AT + 3000 },
      { location: 'us', readable: true, at: BASE_AT + 2000 },
    ])
  })

  it('leaves out manifests over maxManifestBytes (D1 row cap), so the edge misses and asks the origin', async () => {
    const capped = await createSqlIndex(db.store, { maxManifestBytes: 4 })
    const c = changeLog()
    await capped.apply([c.manifestPut(manifestBody('r', A, 'small')), c.manifestPut(manifestBody('r', B, 'tiny')), c.tagSet({ repository: 'r', tag: 't', digest: A })])
    expect(await capped.manifest('r', tag('t'))).toBeNull()
    expect(text((await capped.manifest('r', digest(B)))?.payload)).toBe('tiny')
    expect(await capped.hasRepository('r')).toBe(true)
    expect(await capped.position()).toBe(3)
  })

  it('ignores a manifest.put whose payload was deleted since', async () => {
    const c = changeLog()
    await index.apply([c.manifestPut({ ...manifestBody('r', A, 'x'), payload: null }), c.manifestDeleted({ repository: 'r', digest: A })])
    expect(await index.manifest('r', digest(A))).toBeNull()
    expect(await index.position()).toBe(2)
  })
})

describe('repository visibility', () => {
  it('answers isPublic as the feed last set it, for that name only', async () => {
    const c = changeLog()
    expect(await index.isPublic('org/app')).toBe(false)
    await index.apply([c.repositoryVisibility({ repository: 'org/app', public: true })])
    expect(await index.isPublic('org/app')).toBe(true)
    expect(await index.isPublic('org/app2')).toBe(false)
    expect(await index.isPublic('org')).toBe(false)
    // Setting it twice is harmless; private again removes it.
    await index.apply([c.repositoryVisibility({ repository: 'org/app', public: true })])
    await index.apply([c.repositoryVisibility({ repository: 'org/app', public: false })])
    expect(await index.isPublic('org/app')).toBe(false)
    expect(await index.position()).toBe(3)
  })

  it('does not list a repository in the catalog because it was made public', async () => {
    const c = changeLog()
    await index.apply([c.repositoryVisibility({ repository: 'not/pushed', public: true })])
    expect(await index.isPublic('not/pushed')).toBe(true)
    expect(await index.hasRepository('not/pushed')).toBe(false)
    expect(await index.catalog({ n: 10, last: null })).toEqual([])
  })

  it('never replays an old visibility over a newer one', async () => {
    const c = changeLog()
    const opened = [c.repositoryVisibility({ repository: 'r', public: true })]
    const closed = [c.repositoryVisibility({ repository: 'r', public: false })]
    await index.apply([...opened, ...closed])
    expect(await index.apply(opened)).toBe(2)
    expect(await index.isPublic('r')).toBe(false)
  })

  it('loads public repositories from a snapshot, replacing what the index held', async () => {
    const c = changeLog()
    await index.apply([c.repositoryVisibility({ repository: 'was/public', public: true })])
    await index.loadSnapshot(linesOf([
      { type: 'header', position: 5, takenAt: BASE_AT },
      { type: 'repository', name: 'org/app' },
      { type: 'public', repository: 'org/app' },
      { type: 'public', repository: 'made/public/before/push' },
      { type: 'end', records: 3 },
    ]))
    expect(await index.isPublic('org/app')).toBe(true)
    expect(await index.isPublic('made/public/before/push')).toBe(true)
    expect(await index.isPublic('was/public')).toBe(false)
    expect(await index.catalog({ n: 10, last: null })).toEqual(['org/app'])
    // The feed after the snapshot's position still applies.
    await index.apply([changeLog(6).repositoryVisibility({ repository: 'org/app', public: false })])
    expect(await index.isPublic('org/app')).toBe(false)
  })
})

describe('pages', () => {
  it('pages tags and the catalog in lexical order after `last`, at most n', async () => {
    const c = changeLog()
    const names = ['b', 'a', 'org/z', 'org/a', 'c']
    await index.apply(names.map((r) => c.blobLinked({ repository: r, digest: L, size: 1 })))
    await index.apply(['v2', 'latest', 'v10', 'v1', 'A'].map((t) => c.tagSet({ repository: 'a', tag: t, digest: A })))
    expect(await index.catalog({ n: 2, last: null })).toEqual(['a', 'b'])
    expect(await index.catalog({ n: 2, last: 'b' })).toEqual(['c', 'org/a'])
    expect(await index.catalog({ n: 10, last: 'org/a' })).toEqual(['org/z'])
    expect(await index.catalog({ n: 10, last: 'org/z' })).toEqual([])
    expect(await index.tags('a', { n: 3, last: null })).toEqual(['A', 'latest', 'v1'])
    expect(await index.tags('a', { n: 3, last: 'v1' })).toEqual(['v10', 'v2'])
    expect(await index.tags('b', { n: 3, last: null })).toEqual([])
  })
})

describe('snapshots', () => {
  const snapshot = (position: number, records: SnapshotLine[], end: SnapshotLine | null = { type: 'end', records: records.length }): SnapshotLine[] =>
    [{ type: 'header', position, takenAt: BASE_AT + 100_000 }, ...records, ...(end ? [end] : [])]

  it('loads a snapshot, then converges with a feed that repeats changes the snapshot holds', async () => {
    // The origin read position 3, then its tables, which already had changes 4 and 5 in them.
    const c = changeLog(4)
    const four = c.manifestPut(manifestBody('org/app', B, 'two'))
    const five = c.tagSet({ repository: 'org/app', tag: 'latest', digest: B })
    const six = c.tagDeleted({ repository: 'org/app', tag: 'old' })
    const seven = c.placementPresent({ digest: L, location: 'us', size: 5 })
    expect(await index.status()).toMatchObject({ ready: false, position: 0 })
    await index.loadSnapshot(linesOf(snapshot(3, [
      { type: 'repository', name: 'empty/repo' },
      { type: 'manifest', repository: 'org/app', digest: A, mediaType: 'm', size: 3, subject: null, artifactType: null, annotations: null, payload: base64('one') },
      { type: 'manifest', repository: 'org/app', digest: B, mediaType: 'm', size: 3, subject: null, artifactType: null, annotations: null, payload: base64('two') },
      { type: 'tag', repository: 'org/app', tag: 'latest', digest: B },
      { type: 'tag', repository: 'org/app', tag: 'old', digest: A },
      { type: 'blob', repository: 'org/app', digest: L, size: 5 },
      { type: 'placement', digest: L, location: 'eu', size: 5 },
    ])))
    expect(await index.status()).toMatchObject({ ready: true, position: 3, snapshotAt: BASE_AT + 100_000 })
    expect(await index.hasRepository('empty/repo')).toBe(true)
    await index.apply([four, five, six, seven])
    expect((await index.manifest('org/app', tag('latest')))?.digest).toBe(B)
    expect(await index.tags('org/app', { n: 10, last: null })).toEqual(['latest'])
    expect((await index.placements(L)).sort()).toEqual(['eu', 'us'])
    expect(await index.catalog({ n: 10, last: null })).toEqual(['empty/repo', 'org/app'])
    expect(await index.position()).toBe(7)
  })

  it('replaces everything the index held', async () => {
    const c = changeLog()
    await index.apply([c.tagSet({ repository: 'gone', tag: 't', digest: A }), c.placementPresent({ digest: A, location: 'eu', size: 1 })])
    await index.loadSnapshot(linesOf(snapshot(1, [{ type: 'repository', name: 'kept' }])))
    expect(await index.catalog({ n: 10, last: null })).toEqual(['kept'])
    expect(await index.placements(A)).toEqual([])
    expect(await index.position()).toBe(1)
  })

  it('rejects a snapshot cut short, keeping the old contents and position', async () => {
    const c = changeLog()
    await index.apply([c.manifestPut(manifestBody('r', A, 'x')), c.tagSet({ repository: 'r', tag: 't', digest: A })])
    const records: SnapshotLine[] = [{ type: 'repository', name: 'new' }, { type: 'tag', repository: 'new', tag: 'x', digest: B }]
    await expect(index.loadSnapshot(linesOf(snapshot(9, records, null)))).rejects.toThrow(SnapshotError)
    await expect(index.loadSnapshot(linesOf(snapshot(9, records, { type: 'end', records: 3 })))).rejects.toThrow(/3 records, 2 arrived/)
    await expect(index.loadSnapshot(linesOf([]))).rejects.toThrow(SnapshotError)
    expect((await index.manifest('r', tag('t')))?.digest).toBe(A)
    expect(await index.hasRepository('new')).toBe(false)
    expect(await index.status()).toMatchObject({ position: 2, ready: false })
  })

  it('loads a snapshot larger than one staging batch', async () => {
    const small = await createSqlIndex(db.store, { snapshotBatch: 7 })
    const records: SnapshotLine[] = Array.from({ length: 100 }, (_, i) => ({ type: 'tag', repository: 'r', tag: `t${String(i).padStart(3, '0')}`, digest: A }))
    await small.loadSnapshot(linesOf(snapshot(50, records)))
    expect(await small.tags('r', { n: 1000, last: null })).toHaveLength(100)
    expect(await small.tags('r', { n: 2, last: 't097' })).toEqual(['t098', 't099'])
  })
})

describe('persistence and status', () => {
  it('keeps position and data across a restart (the file reopened)', async () => {
    const c = changeLog()
    await index.loadSnapshot(linesOf([{ type: 'header', position: 0, takenAt: BASE_AT }, { type: 'end', records: 0 }]))
    await index.apply([c.manifestPut(manifestBody('r', A, 'x')), c.tagSet({ repository: 'r', tag: 't', digest: A })], { head: 2, now: BASE_AT + 5000 })
    const reopened = await createSqlIndex(await db.reopen())
    expect(await reopened.status(BASE_AT + 6000)).toEqual({ position: 2, head: 2, lastSyncAt: BASE_AT + 5000, lagSeconds: 0, ready: true, snapshotAt: BASE_AT })
    expect(text((await reopened.manifest('r', tag('t')))?.payload)).toBe('x')
  })

  it('rebuilds empty when the stored schema version differs', async () => {
    const c = changeLog()
    await index.apply([c.tagSet({ repository: 'r', tag: 't', digest: A })])
    await db.store.batch([{ sql: "UPDATE meta SET value = ? WHERE key = 'schema_version'", params: [SCHEMA_VERSION + 100] }])
    const rebuilt = await createSqlIndex(db.store)
    expect(await rebuilt.status()).toMatchObject({ position: 0, ready: false })
    expect(await rebuilt.hasRepository('r')).toBe(false)
  })

  it('reports lag while behind the head, and none once caught up', async () => {
    const c = changeLog()
    const page = [c.tagSet({ repository: 'r', tag: 'a', digest: A }), c.tagSet({ repository: 'r', tag: 'b', digest: A })]
    // The origin's head is 10: the newest change applied happened at BASE_AT + 2 s.
    await index.apply(page, { head: 10, now: BASE_AT + 30_000 })
    expect(await index.status(BASE_AT + 32_000)).toMatchObject({ position: 2, head: 10, lagSeconds: 30, lastSyncAt: BASE_AT + 30_000 })
    await index.apply([], { head: 10, now: BASE_AT + 33_000 })
    expect((await index.status(BASE_AT + 42_000)).lagSeconds).toBe(40)
    const rest = Array.from({ length: 8 }, (_, i) => c.tagSet({ repository: 'r', tag: `c${i}`, digest: A }))
    await index.apply(rest, { head: 10, now: BASE_AT + 43_000 })
    expect(await index.status(BASE_AT + 50_000)).toMatchObject({ position: 10, lagSeconds: 0 })
  })
})

describe('a page whose tail holds kinds this edge does not know', () => {
  it('moves the position to the page\'s next, so the follower does not ask for the same page again', async () => {
    const temp = tempStore()
    try {
      const index = await createSqlIndex(temp.store)
      expect(await index.apply([], { head: 12, next: 12 })).toBe(12)
      expect(await index.position()).toBe(12)
      // Never past the head the origin reported.
      expect(await index.apply([], { head: 12, next: 40 })).toBe(12)
    } finally {
      await temp.cleanup()
    }
  })
})
