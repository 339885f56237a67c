// Where the orphaned blob sweep runs (origin/uploads/sweep-orphan-blobs.ts): `npm run gc` (a dry
// run lists and counts, a run removes and says per location how much, a location it cannot list
// fails the run and the others are still swept), the origin's start-up pass and its hourly pass,
// and on an S3 location (s3rver) as on disk.

import { existsSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../origin/log.ts'
import { ORPHAN_SWEEP_EVERY_MS, startUploadCleanup } from '../origin/uploads/cleanup.ts'
import { ORPHAN_BLOB_GRACE_MS, sweepOrphanBlobs } from '../origin/uploads/sweep-orphan-blobs.ts'
import { TEMP_GRACE_MS } from '../origin/uploads/sweep-temporary.ts'
import { blobKey } from '../storage/keys.ts'
import { databaseFor, startTestOrigin, type TestOrigin } from './helpers/origin.ts'
import { pushBlob, randomBytes, sha256, uniqueName } from './helpers/registry-client.ts'
import { fastRetries, fsLocation, waitForReplication } from './helpers/replication.ts'
import { S3RVER_CLIENT, startS3rver } from './helpers/s3rver.ts'
import { bundleScripts, type ScriptBundle } from './helpers/script-bundle.ts'

const DAY = 24 * 3_600_000

// scripts/gc.ts bundled once for the file's four runs (test/helpers/script-bundle.ts).
let scripts: ScriptBundle
beforeAll(async () => { scripts = await bundleScripts(['gc']) })
afterAll(() => scripts?.remove())

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

/**
 * A data directory an origin set up (roots, markers, one pushed blob replicated everywhere) and then
 * stopped, with orphans left in it: what gc finds, with no origin sweeping beside it.
 */
async function stoppedRegistry(orphans: Array<{ location: string; size: number; ageMs: number }>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'meridian-orphans-'))
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
  const origin = await startTestOrigin({ dataDir })
  let pushed
  const left: Array<{ location: string; digest: string; path: string }> = []
  try {
    pushed = await pushBlob(origin.url, uniqueName(), randomBytes(2000))
    await waitForReplication(origin.db)
    for (const o of orphans) {
      const bytes = randomBytes(o.size)
      await origin.locations.get(o.location)!.engine.put(blobKey(sha256(bytes)), new Response(bytes).body!, { size: o.size })
      left.push({ location: o.location, digest: sha256(bytes), path: join(dataDir, 'locations', o.location, blobKey(sha256(bytes))) })
    }
  } finally {
    await origin.close()
  }
  for (const [i, o] of orphans.entries()) {
    const when = new Date(Date.now() - o.ageMs)
    utimesSync(left[i]!.path, when, when)
  }
  const placedPaths = ['us-east', 'eu-west', 'ap-south'].map((id) => join(dataDir, 'locations', id, blobKey(pushed.digest)))
  // A placed blob made to look as old: only the placement keeps it.
  for (const path of placedPaths) utimesSync(path, new Date(Date.now() - 2 * DAY), new Date(Date.now() - 2 * DAY))
  return { dataDir, orphans: left, placedPaths }
}

async function gc(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return scripts.run('gc', args, { ...process.env, MERIDIAN_DATA_DIR: dataDir, DATABASE_URL: await databaseFor(dataDir) })
}

describe('orphaned blobs in npm run gc and the origin', () => {
  it('npm run gc --dry-run lists and counts old orphans, removes nothing; then npm run gc removes them, per location', async () => {
    const { dataDir, orphans, placedPaths } = await stoppedRegistry([
      { location: 'us-east', size: 1024, ageMs: 2 * DAY },
      { location: 'ap-south', size: 3 * 1024 * 1024, ageMs: 2 * DAY },
      { location: 'eu-west', size: 10, ageMs: 60_000 },
    ])
    const [east, south, young] = orphans

    const dry = await gc(dataDir, '--dry-run')
    expect(dry.code).toBe(0)
    expect(dry.stdout).toContain(`would remove orphaned blob ${east!.digest} in us-east: 1.0 KiB\n`)
    expect(dry.stdout).toContain('would remove 1 orphaned blobs in us-east: 1.0 KiB\n')
    expect(dry.stdout).toContain('would remove 1 orphaned blobs in ap-south: 3.0 MiB\n')
    expect(dry.stdout).toMatch(/^would remove 2 orphaned blobs \(3\.0 MiB\); 0 skipped, 0 errors$/m)
    for (const o of orphans) expect(existsSync(o.path)).toBe(true)

    const real = await gc(dataDir)
    expect(real.code).toBe(0)
    expect(real.stdout).toContain('removed 1 orphaned blobs in us-east: 1.0 KiB\n')
    expect(real.stdout).toContain('removed 1 orphaned blobs in ap-south: 3.0 MiB\n')
    expect(real.stdout).not.toContain('in eu-west')
    expect(real.stdout).toMatch(/^removed 2 orphaned blobs \(3\.0 MiB\); 0 skipped, 0 errors$/m)
    expect([existsSync(east!.path), existsSync(south!.path), existsSync(young!.path)]).toEqual([false, false, true])
    for (const path of placedPaths) expect(existsSync(path)).toBe(true)
  })

  it('npm run gc reports a location it cannot list, sweeps the others, exits 1; and refuses a grace under an hour', async () => {
    const { dataDir, orphans } = await stoppedRegistry([
      { location: 'us-east', size: 10, ageMs: 2 * DAY },
      { location: 'ap-south', size: 10, ageMs: 2 * DAY },
    ])
    // ap-south's blobs/ cannot be read (a damaged layout: a symlink loop); its uploads/ can, so the
    // upload sweep succeeds there and the exit status is the orphan sweep's alone.
    const south = join(dataDir, 'locations', 'ap-south')
    renameSync(join(south, 'blobs'), join(south, 'blobs.aside'))
    symlinkSync('blobs', join(south, 'blobs'))

    const failed = await gc(dataDir)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/cannot sweep orphaned blobs in ap-south, skipped: /)
    expect(failed.stdout).toMatch(/temporary files \(0 B\), 0 B in all; 0 skipped, 0 errors$/m)
    expect(failed.stdout).toMatch(/^removed 1 orphaned blobs \(10 B\); 0 skipped, 1 errors; not swept: ap-south$/m)
    expect(existsSync(orphans[0]!.path)).toBe(false)
    expect(existsSync(join(south, 'blobs.aside', blobKey(orphans[1]!.digest).slice('blobs/'.length)))).toBe(true)

    const refused = await gc(dataDir, '--blob-grace=0')
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/--blob-grace wants hours, at least 1/)
  })

  it('an origin sweeps orphaned blobs at start-up, in the background', async () => {
    const { dataDir, orphans, placedPaths } = await stoppedRegistry([{ location: 'eu-west', size: 100, ageMs: 2 * DAY }])
    const origin = await startTestOrigin({ dataDir })
    cleanups.push(() => origin.close())

    await expect.poll(() => existsSync(orphans[0]!.path), { timeout: 10_000 }).toBe(false)
    for (const path of placedPaths) expect(existsSync(path)).toBe(true)
  })

  /** An origin, and a cleanup of its own passing every 20 ms on a clock the test moves ahead. */
  async function fastCleanup() {
    const origin: TestOrigin = await startTestOrigin()
    cleanups.push(() => origin.close())
    const clock = { ahead: 0 }
    const passes: number[] = []
    const cleanup = startUploadCleanup({ db: origin.db, locations: origin.locations, log: silentLogger }, {
      intervalMs: 20, olderThanMs: DAY, tempGraceMs: TEMP_GRACE_MS, now: () => Date.now() + clock.ahead, onResult: (r) => passes.push(r.errors),
    })
    cleanups.push(() => cleanup.stop())
    return { origin, clock, passes }
  }

  it('the hourly pass sweeps orphaned blobs once they are past the grace period', async () => {
    const { origin, clock, passes } = await fastCleanup()
    const bytes = randomBytes(100)
    await origin.locations.get('us-east')!.engine.put(blobKey(sha256(bytes)), new Response(bytes).body!, { size: 100 })

    await expect.poll(() => passes.length, { timeout: 5000 }).toBeGreaterThan(1)
    expect(await origin.locations.get('us-east')!.engine.stat(blobKey(sha256(bytes)))).not.toBeNull()
    clock.ahead = ORPHAN_BLOB_GRACE_MS + 60_000
    await expect.poll(() => origin.locations.get('us-east')!.engine.stat(blobKey(sha256(bytes))), { timeout: 5000 }).toBeNull()
  })

  it('the origin sweeps orphaned blobs once a day, not at every hourly pass (a pass lists every key)', async () => {
    const { origin, clock, passes } = await fastCleanup()
    await expect.poll(() => passes.length, { timeout: 5000 }).toBeGreaterThan(1)
    // An orphan already past the grace, left after the start-up sweep: the hourly passes leave it.
    const bytes = randomBytes(100)
    const engine = origin.locations.get('us-east')!.engine
    await engine.put(blobKey(sha256(bytes)), new Response(bytes).body!, { size: 100 })
    const hex = sha256(bytes).slice('sha256:'.length)
    const old = new Date(Date.now() - 2 * DAY)
    utimesSync(join(origin.dataDir, 'locations', 'us-east', 'blobs', 'sha256', hex.slice(0, 2), hex), old, old)
    const seen = passes.length
    await expect.poll(() => passes.length, { timeout: 5000 }).toBeGreaterThan(seen + 3)
    expect(await engine.stat(blobKey(sha256(bytes)))).not.toBeNull()
    clock.ahead = ORPHAN_SWEEP_EVERY_MS
    await expect.poll(() => engine.stat(blobKey(sha256(bytes))), { timeout: 5000 }).toBeNull()
  })

  it('sweeps an S3 location (s3rver) like a disk: the orphan goes, the replicated blob stays', async () => {
    const s3 = await startS3rver({ buckets: ['meridian'] })
    cleanups.push(() => s3.stop())
    const origin = await startTestOrigin({
      edit: (c) => fastRetries({
        ...c,
        locations: [
          fsLocation(c, 'local', { lat: 39, lon: -77.5 }),
          { id: 'remote', driver: 's3', params: { bucket: 'meridian', endpoint: s3.endpoint, region: S3RVER_CLIENT.region, forcePathStyle: true, ...S3RVER_CLIENT.credentials }, lat: 50, lon: 8, replicateByDefault: true, serve: 'redirect', readOnly: false },
        ],
        preference: ['local'],
      }),
    })
    cleanups.push(() => origin.close())
    const pushed = await pushBlob(origin.url, uniqueName(), randomBytes(1500))
    await waitForReplication(origin.db, { timeoutMs: 20_000 })
    const remote = origin.locations.get('remote')!.engine
    const bytes = randomBytes(700)
    await remote.put(blobKey(sha256(bytes)), new Response(bytes).body!, { size: 700 })
    const sweep = (now: number) => sweepOrphanBlobs({ db: origin.db, locations: origin.locations, log: silentLogger }, { graceMs: ORPHAN_BLOB_GRACE_MS, now })

    expect(await sweep(Date.now())).toMatchObject({ blobs: 0, errors: 0 })
    expect(await sweep(Date.now() + 2 * DAY)).toEqual({ blobs: 1, bytes: 700, skipped: 0, errors: 0, down: [] })
    expect(await remote.stat(blobKey(sha256(bytes)))).toBeNull()
    expect(await remote.stat(blobKey(pushed.digest))).not.toBeNull()
  })
})
