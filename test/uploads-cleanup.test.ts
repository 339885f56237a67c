// Abandoned uploads (origin/uploads/cleanup.ts, `npm run gc`): stale sessions lose their row and
// their parts, parts no session owns are removed once old enough, a dry run only counts, and
// nothing under blobs/ is ever touched.

import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { findUpload } from '../db/queries/uploads.ts'
import { uploads } from '../db/schema.ts'
import { silentLogger } from '../origin/log.ts'
import { collectAbandonedUploads, PART_KEY, startUploadCleanup, type CleanupDeps, type CleanupOptions } from '../origin/uploads/cleanup.ts'
import { TEMP_GRACE_MS } from '../origin/uploads/sweep-temporary.ts'
import { formatMarker, ROOT_MARKER } from '../storage/drivers/fs-root.ts'
import type { StorageEngine } from '../storage/engine.ts'
import { PROBE_KEY, uploadPartKey } from '../storage/keys.ts'
import { startTestOrigin, type TestOrigin } from './helpers/origin.ts'
import {
  at, bytesOf, closeUpload, expectOciError, openUpload, patchChunk, pushBlob, randomBytes, sha256, uniqueName,
} from './helpers/registry-client.ts'
import { waitForReplication } from './helpers/replication.ts'
import { timelessLocation } from './helpers/timeless-location.ts'
import { bundleScripts, type ScriptBundle } from './helpers/script-bundle.ts'

const DAY = 24 * 3_600_000
const FAR_FUTURE = Date.now() + 365 * DAY

// scripts/gc.ts bundled once for the file's two runs (test/helpers/script-bundle.ts).
let scripts: ScriptBundle
beforeAll(async () => { scripts = await bundleScripts(['gc']) })
afterAll(() => scripts?.remove())

let origin: TestOrigin
beforeEach(async () => { origin = await startTestOrigin() })
afterEach(() => origin?.close())

function collect(options: Partial<CleanupOptions> = {}, locations: CleanupDeps['locations'] = origin.locations) {
  return collectAbandonedUploads({ db: origin.db, locations, log: silentLogger }, { olderThanMs: DAY, tempGraceMs: TEMP_GRACE_MS, ...options })
}

function engineOf(id: string): StorageEngine {
  return origin.locations.get(id)!.engine
}

async function keysOf(engine: StorageEngine, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor: string | null = null
  do {
    const page = await engine.list(prefix, { cursor: cursor ?? undefined })
    keys.push(...page.keys.map((k) => k.key))
    cursor = page.cursor
  } while (cursor !== null)
  return keys
}

async function allKeys(prefix: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const l of origin.locations.all()) out[l.id] = await keysOf(l.engine, prefix)
  return out
}

/** An upload session with one PATCHed chunk per size; returns its URL, id and location. */
async function abandonedSession(name: string, ...sizes: number[]) {
  const url = await openUpload(origin.url, name)
  let offset = 0
  for (const size of sizes) {
    expect((await patchChunk(url, randomBytes(size), offset)).status).toBe(202)
    offset += size
  }
  const id = new URL(url).pathname.split('/').pop()!
  return { url, id, offset, location: (await findUpload(origin.db, id))!.location }
}

async function putOrphan(locationId: string, bytes = randomBytes(10), id: string = crypto.randomUUID()): Promise<string> {
  const key = uploadPartKey(id, 0, 'abcd1234')
  await engineOf(locationId).put(key, new Response(bytes).body!, { size: bytes.byteLength })
  return key
}

describe('abandoned upload cleanup', () => {
  it('removes a session untouched for longer than the age: row, parts, and a PATCH then answers BLOB_UPLOAD_UNKNOWN', async () => {
    const session = await abandonedSession(uniqueName(), 1000, 500)
    expect(await keysOf(engineOf(session.location), `uploads/${session.id}/`)).toHaveLength(2)

    const result = await collect({ now: FAR_FUTURE })

    expect(result).toEqual({ sessions: 1, sessionParts: 2, sessionBytes: 1500, orphanParts: 0, orphanBytes: 0, tempItems: 0, tempBytes: 0, skipped: 0, errors: 0 })
    expect(await findUpload(origin.db, session.id)).toBeNull()
    expect(await allKeys('uploads/')).toEqual({ 'us-east': [], 'eu-west': [], 'ap-south': [] })
    await expectOciError(await patchChunk(session.url, randomBytes(10), session.offset), 'BLOB_UPLOAD_UNKNOWN', 404)
  })

  it('leaves a session touched within the age alone, and it still finishes', async () => {
    const name = uniqueName()
    const stale = await abandonedSession(name, 100)
    await origin.db.update(uploads).set({ updatedAt: Date.now() - 2 * DAY }).where(eq(uploads.id, stale.id)).run()
    const chunk = randomBytes(300)
    const fresh = await openUpload(origin.url, name)
    expect((await patchChunk(fresh, chunk, 0)).status).toBe(202)

    const result = await collect()

    expect(result).toMatchObject({ sessions: 1, sessionParts: 1, sessionBytes: 100, orphanParts: 0, errors: 0 })
    expect(await findUpload(origin.db, stale.id)).toBeNull()
    expect((await closeUpload(fresh, sha256(chunk))).status).toBe(201)
    const res = await fetch(at(origin.url, `/v2/${name}/blobs/${sha256(chunk)}`))
    expect(await bytesOf(res)).toEqual(chunk)
  })

  it('removes orphaned parts in every location, only once they are older than the age', async () => {
    const near = await putOrphan('us-east', randomBytes(10))
    const far = await putOrphan('ap-south', randomBytes(20))

    expect(await collect()).toMatchObject({ orphanParts: 0, errors: 0 })
    expect(await allKeys('uploads/')).toEqual({ 'us-east': [near], 'eu-west': [], 'ap-south': [far] })

    expect(await collect({ now: FAR_FUTURE })).toEqual({ sessions: 0, sessionParts: 0, sessionBytes: 0, orphanParts: 2, orphanBytes: 30, tempItems: 0, tempBytes: 0, skipped: 0, errors: 0 })
    expect(await allKeys('uploads/')).toEqual({ 'us-east': [], 'eu-west': [], 'ap-south': [] })
  })

  it('never touches blobs/, not even one finished from a part left behind by a crash', async () => {
    const name = uniqueName()
    const pushed = await pushBlob(origin.url, name, randomBytes(5000))
    // A single-chunk session: fs finishes it by hard-linking the part to the blob key.
    const chunk = randomBytes(4000)
    const session = await abandonedSession(name)
    expect((await patchChunk(session.url, chunk, 0)).status).toBe(202)
    expect((await closeUpload(session.url, sha256(chunk))).status).toBe(201)
    await waitForReplication(origin.db)
    // The crash: the blob was committed, its part not yet deleted.
    const leftover = await putOrphan(session.location, chunk, session.id)
    const blobsBefore = await allKeys('blobs/')

    const result = await collect({ now: FAR_FUTURE })

    expect(result).toMatchObject({ sessions: 0, orphanParts: 1, orphanBytes: 4000, errors: 0 })
    expect(await engineOf(session.location).stat(leftover)).toBeNull()
    expect(await allKeys('blobs/')).toEqual(blobsBefore)
    for (const [digest, bytes] of [[pushed.digest, null], [sha256(chunk), chunk]] as const) {
      const res = await fetch(at(origin.url, `/v2/${name}/blobs/${digest}`))
      expect(res.status).toBe(200)
      if (bytes) expect(await bytesOf(res)).toEqual(bytes)
      else await res.body?.cancel()
    }
  })

  it('a dry run removes nothing and reports what would go', async () => {
    const session = await abandonedSession(uniqueName(), 64, 36)
    const orphan = await putOrphan('eu-west', randomBytes(7))
    const items: unknown[] = []

    const result = await collect({ now: FAR_FUTURE, dryRun: true, onItem: (item) => items.push(item) })

    expect(result).toEqual({ sessions: 1, sessionParts: 2, sessionBytes: 100, orphanParts: 1, orphanBytes: 7, tempItems: 0, tempBytes: 0, skipped: 0, errors: 0 })
    expect(items).toEqual([
      { kind: 'session', location: session.location, id: session.id, parts: 2, bytes: 100 },
      { kind: 'orphan', location: 'eu-west', id: orphan.split('/')[1], parts: 1, bytes: 7 },
    ])
    expect(await findUpload(origin.db, session.id)).not.toBeNull()
    expect(await engineOf('eu-west').stat(orphan)).not.toBeNull()
    expect((await patchChunk(session.url, randomBytes(10), session.offset)).status).toBe(202)
  })

  it('skips orphaned parts whose engine reports no modification time, unless forced', async () => {
    const orphan = await putOrphan('us-east')
    const real = origin.locations.get('us-east')!
    const blind = timelessLocation(real)
    const locations = { get: (id: string) => (id === 'us-east' ? blind : null), all: () => [blind] }

    expect(await collect({ now: FAR_FUTURE }, locations)).toMatchObject({ orphanParts: 0, skipped: 1 })
    expect(await real.engine.stat(orphan)).not.toBeNull()
    expect(await collect({ now: FAR_FUTURE, force: true }, locations)).toMatchObject({ orphanParts: 1, orphanBytes: 10, skipped: 0 })
    expect(await real.engine.stat(orphan)).toBeNull()
  })

  it('leaves the write probe\'s byte under uploads/ alone, even forced, and counts it nowhere', async () => {
    // What an origin killed between the probe's put and its delete leaves (origin/locations.ts).
    expect(PROBE_KEY.startsWith('uploads/')).toBe(true)
    expect(PART_KEY.test(PROBE_KEY)).toBe(false)
    const engine = engineOf('us-east')
    await engine.put(PROBE_KEY, new Response(new Uint8Array([0])).body!, { size: 1 })
    expect(await collect({ now: FAR_FUTURE, olderThanMs: 0, force: true })).toMatchObject({ sessions: 0, orphanParts: 0, skipped: 0, errors: 0 })
    expect(await engine.stat(PROBE_KEY)).not.toBeNull()
    // The next probe overwrites and deletes it.
    expect(await origin.locations.probe('us-east')).toBe(true)
    expect(await engine.stat(PROBE_KEY)).toBeNull()
  })

  it('the origin\'s timer removes a stale session on its next tick, and stop() waits for a running pass', async () => {
    const session = await abandonedSession(uniqueName(), 50)
    await origin.db.update(uploads).set({ updatedAt: Date.now() - 2 * DAY }).where(eq(uploads.id, session.id)).run()
    const results: number[] = []
    const cleanup = startUploadCleanup({ db: origin.db, locations: origin.locations, log: silentLogger }, {
      intervalMs: 20, olderThanMs: DAY, tempGraceMs: TEMP_GRACE_MS, onResult: (r) => results.push(r.sessions),
    })
    try {
      await expect.poll(() => results.length, { timeout: 5000 }).toBeGreaterThan(0)
    } finally {
      await cleanup.stop()
    }
    expect(results[0]).toBe(1)
    expect(await findUpload(origin.db, session.id)).toBeNull()
    expect(await keysOf(engineOf(session.location), `uploads/${session.id}/`)).toEqual([])
  })

  it('npm run gc --dry-run prints what would go and a summary line, and removes nothing', async () => {
    const session = await abandonedSession(uniqueName(), 2048)
    const orphan = await putOrphan('ap-south', randomBytes(10))

    const { code, stdout } = await scripts.run('gc', ['--dry-run', '--older-than=0'], { ...process.env, MERIDIAN_DATA_DIR: origin.dataDir, DATABASE_URL: origin.config.databaseUrl })

    expect(code).toBe(0)
    expect(stdout).toContain(`would remove session ${session.id} in ${session.location}: 1 parts, 2.0 KiB`)
    expect(stdout).toMatch(/^would remove 1 stale upload sessions \(1 parts, 2\.0 KiB\), 1 orphaned parts \(10 B\) and 0 temporary files \(0 B\), 2\.0 KiB in all; 0 skipped, 0 errors$/m)
    expect(await findUpload(origin.db, session.id)).not.toBeNull()
    expect(await engineOf('ap-south').stat(orphan)).not.toBeNull()
  })

  it('npm run gc leaves a foreign volume mounted at a root alone: its upload parts stay, the location counts as an error', async () => {
    const orphan = await putOrphan('ap-south', randomBytes(10))
    // Another deployment's volume now sits where ap-south's root was: it holds "orphans" too.
    const root = join(origin.dataDir, 'locations', 'ap-south')
    writeFileSync(join(root, ROOT_MARKER), formatMarker({ location: 'ap-south', deployment: 'another-deployment' }))

    const failed = await scripts.run('gc', ['--older-than=0'], { ...process.env, MERIDIAN_DATA_DIR: origin.dataDir, DATABASE_URL: origin.config.databaseUrl })

    expect(failed).toMatchObject({ code: 1 })
    expect(failed.stderr).toMatch(/location refused: its root is not usable/)
    expect(failed.stdout).toMatch(/0 orphaned parts \(0 B\).*; 0 skipped, [1-9]\d* errors$/m)
    expect(existsSync(join(root, orphan))).toBe(true)
  })
})
