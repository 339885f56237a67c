// Orphaned blob bytes (origin/uploads/sweep-orphan-blobs.ts): keys under blobs/ of blobs the
// registry does not know (no blob row, no placement anywhere) go once older than the grace period,
// in every writable location; bytes of a known blob stay (placed there or not, present or
// missing), young ones stay, a dry run only counts, a location that cannot
// be listed is reported and skipped, a read-only one is never touched.

import { existsSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Db } from '../db/client.ts'
import { markPlacementMissing, placementsOf, recordPlacement } from '../db/queries/placements.ts'
import { findUpload } from '../db/queries/uploads.ts'
import type { Location } from '../origin/locations.ts'
import { silentLogger } from '../origin/log.ts'
import { ORPHAN_BLOB_GRACE_MS, sweepOrphanBlobs, type OrphanBlobDeps, type OrphanBlobOptions } from '../origin/uploads/sweep-orphan-blobs.ts'
import { createFsEngine } from '../storage/drivers/fs.ts'
import { formatMarker, ROOT_MARKER } from '../storage/drivers/fs-root.ts'
import type { StorageEngine } from '../storage/engine.ts'
import { blobKey } from '../storage/keys.ts'
import { startTestOrigin, type TestOrigin } from './helpers/origin.ts'
import { timelessLocation } from './helpers/timeless-location.ts'
import { at, bytesOf, closeUpload, openUpload, patchChunk, pushBlob, randomBytes, sha256, uniqueName } from './helpers/registry-client.ts'
import { waitForReplication } from './helpers/replication.ts'

const DAY = 24 * 3_600_000
// The origin under test runs its own start-up sweep on the real clock: these tests move the
// sweep's clock ahead instead of ageing files, so that sweep never takes their orphans.
const FAR_FUTURE = Date.now() + 365 * DAY

let origin: TestOrigin
beforeEach(async () => { origin = await startTestOrigin() })
afterEach(() => origin?.close())

function sweep(options: Partial<OrphanBlobOptions> = {}, deps: Partial<OrphanBlobDeps> = {}) {
  return sweepOrphanBlobs({ db: origin.db, locations: origin.locations, log: silentLogger, ...deps }, { graceMs: ORPHAN_BLOB_GRACE_MS, ...options })
}

const engineOf = (id: string): StorageEngine => origin.locations.get(id)!.engine
const present = async (id: string, digest: string) => (await engineOf(id).stat(blobKey(digest))) !== null

/** Bytes stored under their content key with no placement: what a failed commit leaves. */
async function leaveOrphan(id: string, bytes = randomBytes(100)): Promise<string> {
  await engineOf(id).put(blobKey(sha256(bytes)), new Response(bytes).body!, { size: bytes.byteLength })
  return sha256(bytes)
}

async function place(db: Db, digest: string, location: string, size = 100): Promise<void> {
  await db.transaction(async (tx) => { await recordPlacement(tx, { digest, size, location }) })
}

describe('orphaned blob sweep', () => {
  it('removes bytes no placement names once older than the grace period, in every location, counted per location', async () => {
    const near = await leaveOrphan('us-east', randomBytes(100))
    const far = await leaveOrphan('ap-south', randomBytes(300))
    const tallies: unknown[] = []

    expect(await sweep({ now: FAR_FUTURE, onLocation: (t) => tallies.push(t) })).toEqual({ blobs: 2, bytes: 400, skipped: 0, errors: 0, down: [] })

    expect(await present('us-east', near)).toBe(false)
    expect(await present('ap-south', far)).toBe(false)
    expect(tallies).toEqual([{ location: 'us-east', blobs: 1, bytes: 100 }, { location: 'ap-south', blobs: 1, bytes: 300 }])
  })

  it('leaves an orphan alone until it is older than the grace period', async () => {
    const digest = await leaveOrphan('eu-west')

    expect(await sweep()).toMatchObject({ blobs: 0, errors: 0 })
    expect(await sweep({ now: Date.now() + ORPHAN_BLOB_GRACE_MS - 60_000 })).toMatchObject({ blobs: 0 })
    expect(await present('eu-west', digest)).toBe(true)
    expect(await sweep({ now: Date.now() + ORPHAN_BLOB_GRACE_MS + 60_000 })).toMatchObject({ blobs: 1, bytes: 100 })
    expect(await present('eu-west', digest)).toBe(false)
  })

  it('keeps bytes a present placement names, in every location, and the blob still pulls', async () => {
    const name = uniqueName()
    const bytes = randomBytes(5000)
    const pushed = await pushBlob(origin.url, name, bytes)
    await waitForReplication(origin.db)

    // A dry run does not re-check before it counts: the page's read alone must leave them out.
    expect(await sweep({ now: FAR_FUTURE, dryRun: true })).toMatchObject({ blobs: 0 })
    expect(await sweep({ now: FAR_FUTURE })).toEqual({ blobs: 0, bytes: 0, skipped: 0, errors: 0, down: [] })

    for (const l of origin.locations.all()) expect(await present(l.id, pushed.digest)).toBe(true)
    const res = await fetch(at(origin.url, `/v2/${name}/blobs/${pushed.digest}`))
    expect(await bytesOf(res)).toEqual(bytes)
  })

  it('keeps bytes a missing placement names (npm run verify --repair owns those)', async () => {
    const digest = await leaveOrphan('eu-west')
    await place(origin.db, digest, 'eu-west')
    await markPlacementMissing(origin.db, digest, 'eu-west')

    expect(await sweep({ now: FAR_FUTURE })).toMatchObject({ blobs: 0, errors: 0 })
    expect(await present('eu-west', digest)).toBe(true)
  })

  it('keeps the bytes of a blob the registry knows in every location, placed there or not (a renamed location id, two ids over one bucket)', async () => {
    const bytes = randomBytes(100)
    const digest = await leaveOrphan('us-east', bytes)
    await leaveOrphan('ap-south', bytes)
    const unknown = await leaveOrphan('ap-south', randomBytes(101))
    await place(origin.db, digest, 'us-east')

    expect(await sweep({ now: FAR_FUTURE })).toMatchObject({ blobs: 1, bytes: 101 })
    expect(await present('us-east', digest)).toBe(true)
    expect(await present('ap-south', digest)).toBe(true)
    expect(await present('ap-south', unknown)).toBe(false)
  })

  it('walks every page of a location, reading placements page by page', async () => {
    const orphans = await Promise.all([1, 2, 3, 4, 5].map((n) => leaveOrphan('us-east', randomBytes(n))))
    const placed = await Promise.all([6, 7, 8].map((n) => leaveOrphan('us-east', randomBytes(n))))
    for (const [i, digest] of placed.entries()) await place(origin.db, digest, 'us-east', 6 + i)
    const real = origin.locations.get('us-east')!
    const pages: number[] = []
    const paged: Location = {
      ...real,
      engine: Object.assign(Object.create(real.engine) as StorageEngine, {
        list: async (prefix: string, options: { cursor?: string } = {}) => {
          const page = await real.engine.list(prefix, { ...options, limit: 2 })
          pages.push(page.keys.length)
          return page
        },
      }),
    }

    expect(await sweep({ now: FAR_FUTURE }, { locations: { all: () => [paged] } })).toMatchObject({ blobs: 5, bytes: 15, errors: 0 })
    expect(pages).toEqual([2, 2, 2, 2])
    for (const digest of orphans) expect(await present('us-east', digest)).toBe(false)
    for (const digest of placed) expect(await present('us-east', digest)).toBe(true)
  })

  it('a dry run removes nothing and reports what would go', async () => {
    const a = await leaveOrphan('us-east', randomBytes(10))
    const b = await leaveOrphan('eu-west', randomBytes(20))
    const items: unknown[] = []
    const tallies: unknown[] = []

    const result = await sweep({ now: FAR_FUTURE, dryRun: true, onItem: (i) => items.push(i), onLocation: (t) => tallies.push(t) })

    expect(result).toEqual({ blobs: 2, bytes: 30, skipped: 0, errors: 0, down: [] })
    expect(items).toEqual([{ location: 'us-east', digest: a, bytes: 10 }, { location: 'eu-west', digest: b, bytes: 20 }])
    expect(tallies).toEqual([{ location: 'us-east', blobs: 1, bytes: 10 }, { location: 'eu-west', blobs: 1, bytes: 20 }])
    expect(await present('us-east', a)).toBe(true)
    expect(await present('eu-west', b)).toBe(true)
  })

  it('reports a location it cannot list and skips it, and still sweeps the others', async () => {
    const up = await leaveOrphan('us-east')
    const down = await leaveOrphan('ap-south')
    // Another deployment's volume now sits at ap-south's root: its "orphans" are that one's blobs.
    const root = join(origin.dataDir, 'locations', 'ap-south')
    writeFileSync(join(root, ROOT_MARKER), formatMarker({ location: 'ap-south', deployment: 'another-deployment' }))
    const reported: string[] = []

    const result = await sweep({ now: FAR_FUTURE, onDown: (id) => reported.push(id) })

    expect(result).toMatchObject({ blobs: 1, errors: 1, down: ['ap-south'] })
    expect(reported).toEqual(['ap-south'])
    expect(await present('us-east', up)).toBe(false)
    expect(existsSync(join(root, blobKey(down)))).toBe(true)
  })

  it('never touches a read-only location', async () => {
    const kept = await leaveOrphan('eu-west')
    const gone = await leaveOrphan('us-east')
    const locations = {
      all: () => origin.locations.all().map((l): Location => l.id === 'eu-west' ? { ...l, config: { ...l.config, readOnly: true } } : l),
    }

    expect(await sweep({ now: FAR_FUTURE, force: true }, { locations })).toMatchObject({ blobs: 1, errors: 0, down: [] })
    expect(await present('eu-west', kept)).toBe(true)
    expect(await present('us-east', gone)).toBe(false)
  })

  it('skips keys whose engine reports no modification time unless forced, and keys that are not blob keys', async () => {
    const digest = await leaveOrphan('us-east')
    const stray = 'blobs/sha256/zz/not-a-digest'
    await engineOf('us-east').put(stray, new Response('x').body!, { size: 1 })
    const real = origin.locations.get('us-east')!
    const blind = timelessLocation(real)
    const locations = { all: () => [blind] }

    expect(await sweep({ now: FAR_FUTURE }, { locations })).toMatchObject({ blobs: 0, skipped: 2 })
    expect(await present('us-east', digest)).toBe(true)
    expect(await sweep({ now: FAR_FUTURE, force: true }, { locations })).toMatchObject({ blobs: 1, skipped: 1 })
    expect(await present('us-east', digest)).toBe(false)
    expect(await real.engine.stat(stray)).not.toBeNull()
  })

  it('keeps a blob key an upload session is finishing from its one part (fs: a hard link with the part\'s old mtime)', async () => {
    const name = uniqueName()
    const chunk = randomBytes(4000)
    const url = await openUpload(origin.url, name)
    expect((await patchChunk(url, chunk, 0)).status).toBe(202)
    const id = new URL(url).pathname.split('/').pop()!
    const location = origin.locations.get((await findUpload(origin.db, id))!.location)!
    const [part] = (await location.engine.list(`uploads/${id}/`)).keys
    // What finishUpload does before its commit: the part, moved server-side to the content key.
    await location.engine.copy!(part!.key, blobKey(sha256(chunk)))

    // Two days on (the client was slow to PUT): by the key's time alone it would look orphaned.
    expect(await sweep({ now: Date.now() + 2 * DAY })).toMatchObject({ blobs: 0, errors: 0 })
    expect(await present(location.id, sha256(chunk))).toBe(true)

    expect((await closeUpload(url, sha256(chunk))).status).toBe(201)
    expect(await bytesOf(await fetch(at(origin.url, `/v2/${name}/blobs/${sha256(chunk)}`)))).toEqual(chunk)
  })

  it('re-checks right before deleting: a placement committed after the page was read keeps the bytes', async () => {
    const digest = await leaveOrphan('us-east')
    // The commit lands between the page's batch read and the delete (the re-check is the one raw read).
    const db = new Proxy(origin.db, {
      get(target, prop) {
        if (prop === '$all') {
          return async (...args: unknown[]) => {
            await place(target, digest, 'us-east')
            return (target.$all as (...a: unknown[]) => unknown)(...args)
          }
        }
        const value = Reflect.get(target, prop) as unknown
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      },
    })

    expect(await sweep({ now: FAR_FUTURE }, { db })).toMatchObject({ blobs: 0, errors: 0 })
    expect(await present('us-east', digest)).toBe(true)
  })

  it('refuses a location whose old blobs are mostly unknown (a wrong or stale database), unless allowed', async () => {
    const known = await Promise.all(Array.from({ length: 10 }, (_, n) => leaveOrphan('eu-west', randomBytes(200 + n))))
    for (const digest of known) await place(origin.db, digest, 'eu-west')
    const unknown = await Promise.all(Array.from({ length: 60 }, (_, n) => leaveOrphan('eu-west', randomBytes(300 + n))))
    const down: string[] = []

    expect(await sweep({ now: FAR_FUTURE, onDown: (id) => down.push(id) })).toMatchObject({ blobs: 0, errors: 1, down: ['eu-west'] })
    expect(down).toEqual(['eu-west'])
    for (const digest of unknown) expect(await present('eu-west', digest)).toBe(true)
    expect(await sweep({ now: FAR_FUTURE, allowMassOrphans: true })).toMatchObject({ blobs: 60, errors: 0, down: [] })
    for (const digest of unknown) expect(await present('eu-west', digest)).toBe(false)
    for (const digest of known) expect(await present('eu-west', digest)).toBe(true)
  })

  it('marks the placement missing, loudly, when a push committed bytes the sweep just deleted', async () => {
    const bytes = randomBytes(100)
    const digest = await leaveOrphan('us-east', bytes)
    const real = origin.locations.get('us-east')!
    // The push renames its bytes over the key and commits right after the sweep's last look.
    const racing: Location = {
      ...real,
      engine: Object.assign(Object.create(real.engine) as StorageEngine, {
        delete: async (key: string) => {
          await real.engine.delete(key)
          await place(origin.db, digest, 'us-east')
        },
      }),
    }

    expect(await sweep({ now: FAR_FUTURE }, { locations: { all: () => [racing] } })).toMatchObject({ blobs: 1 })
    expect((await placementsOf(origin.db, digest)).find((p) => p.location === 'us-east')?.state).toBe('missing')
  })

  it('stops between pages once its signal aborts (an origin shutting down does not wait for the pass)', async () => {
    const orphans = await Promise.all([1, 2, 3, 4].map((n) => leaveOrphan('us-east', randomBytes(n))))
    const real = origin.locations.get('us-east')!
    const stopping = new AbortController()
    let pages = 0
    const paged: Location = {
      ...real,
      engine: Object.assign(Object.create(real.engine) as StorageEngine, {
        list: async (prefix: string, options: { cursor?: string } = {}) => {
          pages++
          const page = await real.engine.list(prefix, { ...options, limit: 1 })
          stopping.abort()
          return page
        },
      }),
    }

    expect(await sweep({ now: FAR_FUTURE, signal: stopping.signal }, { locations: { all: () => [paged] } })).toMatchObject({ blobs: 0, errors: 0 })
    expect(pages).toBe(1)
    for (const digest of orphans) expect(await present('us-east', digest)).toBe(true)
  })

  it('keeps bytes a new push rewrote after they were listed', async () => {
    const root = join(origin.dataDir, 'scratch')
    const engine = createFsEngine({ location: 'scratch', root })
    const bytes = randomBytes(64)
    const key = blobKey(sha256(bytes))
    await engine.put(key, new Response(bytes).body!, { size: 64 })
    const old = new Date(Date.now() - 2 * DAY)
    utimesSync(join(root, key), old, old)
    // The push lands just after the listing: the key holds fresh bytes when the sweep looks again.
    const racing: StorageEngine = Object.assign(Object.create(engine) as StorageEngine, {
      stat: async (k: string) => {
        await engine.put(k, new Response(bytes).body!, { size: 64 })
        return engine.stat(k)
      },
    })
    const scratch = { id: 'scratch', engine: racing, config: { ...origin.locations.all()[0]!.config, id: 'scratch', readOnly: false } }

    expect(await sweep({}, { locations: { all: () => [scratch] } })).toMatchObject({ blobs: 0, errors: 0 })
    expect(await engine.stat(key)).not.toBeNull()
    // Without the push, the same aged key goes.
    utimesSync(join(root, key), old, old)
    expect(await sweep({}, { locations: { all: () => [{ ...scratch, engine }] } })).toMatchObject({ blobs: 1, bytes: 64 })
    expect(await engine.stat(key)).toBeNull()
  })
})
