// Temporary files crashed writes leave behind (origin/uploads/sweep-temporary.ts): gc and the
// origin's cleanup remove them from every location once past the grace period, count them, and
// never touch a young one (a live write may still be filling it) or an object.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../origin/log.ts'
import { collectAbandonedUploads, startUploadCleanup } from '../origin/uploads/cleanup.ts'
import { TEMP_GRACE_MS, minTempGraceMs, tempGraceFor } from '../origin/uploads/sweep-temporary.ts'
import { loadConfig } from '../origin/config/load.ts'
import { createEngine } from '../origin/engines.ts'
import { startOriginServer } from '../origin/server.ts'
import { createFsEngine } from '../storage/drivers/fs.ts'
import { startTestOrigin, type TestOrigin } from './helpers/origin.ts'
import { pushBlob, randomBytes, uniqueName } from './helpers/registry-client.ts'
import { waitForReplication } from './helpers/replication.ts'
import { testDatabaseUrl } from './helpers/test-database.ts'
import { bundleScripts, type ScriptBundle } from './helpers/script-bundle.ts'

// scripts/gc.ts bundled once for the file's three runs (test/helpers/script-bundle.ts).
let scripts: ScriptBundle
beforeAll(async () => { scripts = await bundleScripts(['gc']) })
afterAll(() => scripts?.remove())

let origin: TestOrigin
beforeEach(async () => { origin = await startTestOrigin() })
afterEach(() => origin?.close())

const tmpDirOf = (id: string) => join(origin.dataDir, 'locations', id, '.tmp')

/** What a put killed mid-body leaves: a partial file under a random name in `.tmp`. */
function leaveCrashedWrite(id: string, bytes: number): void {
  mkdirSync(tmpDirOf(id), { recursive: true })
  writeFileSync(join(tmpDirOf(id), crypto.randomUUID()), randomBytes(bytes))
}

function collect(now: number, dryRun = false) {
  return collectAbandonedUploads({ db: origin.db, locations: origin.locations, log: silentLogger }, { olderThanMs: 0, tempGraceMs: TEMP_GRACE_MS, now, dryRun })
}

describe('temporary file sweep', () => {
  it('removes what crashed writes left in every location once past the grace period, and no object', async () => {
    const blob = await pushBlob(origin.url, uniqueName(), randomBytes(3000))
    // The copies to the other locations write temp files too, and the clock below runs ahead.
    await waitForReplication(origin.db)
    const ids = origin.locations.all().map((l) => l.id)
    for (const id of ids) { leaveCrashedWrite(id, 1000); leaveCrashedWrite(id, 24) }

    // Within the grace period a file may belong to a live write: nothing goes.
    expect(await collect(Date.now())).toMatchObject({ tempItems: 0, tempBytes: 0, errors: 0 })
    expect(await collect(Date.now() + TEMP_GRACE_MS + 60_000, true)).toMatchObject({ tempItems: 2 * ids.length, tempBytes: 1024 * ids.length })
    expect(readdirSync(tmpDirOf(ids[0]!))).toHaveLength(2)

    const swept = await collect(Date.now() + TEMP_GRACE_MS + 60_000)
    expect(swept).toMatchObject({ tempItems: 2 * ids.length, tempBytes: 1024 * ids.length, errors: 0 })
    for (const id of ids) expect(readdirSync(tmpDirOf(id))).toEqual([])
    expect(await origin.locations.get(ids[0]!)!.engine.stat(`blobs/sha256/${blob.digest.slice(7, 9)}/${blob.digest.slice(7)}`)).not.toBeNull()
  })

  it('the origin sweeps at start, in the background, without waiting for its first hourly pass', async () => {
    leaveCrashedWrite('ap-south', 512)
    const cleanup = startUploadCleanup({ db: origin.db, locations: origin.locations, log: silentLogger }, {
      intervalMs: 3_600_000, olderThanMs: 24 * 3_600_000, tempGraceMs: TEMP_GRACE_MS, now: () => Date.now() + TEMP_GRACE_MS + 60_000,
    })
    try {
      await expect.poll(() => readdirSync(tmpDirOf('ap-south')), { timeout: 5000 }).toEqual([])
    } finally {
      await cleanup.stop()
    }
  })

  it('leaves the temp file of a put in progress alone, and the put still completes', async () => {
    const engine = createFsEngine({ location: 'scratch', root: join(origin.dataDir, 'scratch') })
    let feed!: ReadableStreamDefaultController<Uint8Array>
    const body = new ReadableStream<Uint8Array>({ start: (c) => { feed = c } })
    const put = engine.put('blobs/x', body)
    feed.enqueue(randomBytes(100))
    await expect.poll(() => readdirSync(join(origin.dataDir, 'scratch', '.tmp')).length).toBe(1)

    expect(await engine.sweepTemporary!(new Date(Date.now() - 1000))).toEqual({ items: 0, bytes: 0 })
    feed.enqueue(randomBytes(50))
    feed.close()
    expect(await put).toMatchObject({ size: 150 })
    expect(readdirSync(join(origin.dataDir, 'scratch', '.tmp'))).toEqual([])
  })

  it('the grace period outlasts the idle timeout: 15 minutes by default, idle + 1 minute past that', () => {
    expect(tempGraceFor(120_000)).toBe(TEMP_GRACE_MS)
    expect(minTempGraceMs(120_000)).toBe(3 * 60_000)
    expect(tempGraceFor(30 * 60_000)).toBe(31 * 60_000)
    expect(minTempGraceMs(30 * 60_000)).toBe(31 * 60_000)
  })

  it('with a 30-minute idle timeout the hourly pass keeps a paused upload\'s 20-minute-old temp file', async () => {
    leaveCrashedWrite('eu-west', 256)
    let ahead = 20 * 60_000
    const passes: number[] = []
    const cleanup = startUploadCleanup({ db: origin.db, locations: origin.locations, log: silentLogger }, {
      intervalMs: 20, olderThanMs: 24 * 3_600_000, tempGraceMs: tempGraceFor(30 * 60_000), now: () => Date.now() + ahead,
      onResult: (r) => passes.push(r.tempItems),
    })
    try {
      await expect.poll(() => passes.length, { timeout: 5000 }).toBeGreaterThan(1)
      expect(passes.every((n) => n === 0)).toBe(true)
      expect(readdirSync(tmpDirOf('eu-west'))).toHaveLength(1)
      ahead = 32 * 60_000
      await expect.poll(() => readdirSync(tmpDirOf('eu-west')), { timeout: 5000 }).toEqual([])
    } finally {
      await cleanup.stop()
    }
  })

  it('an origin sweeps at start-up with the grace its configured idle timeout needs', async () => {
    const swept: { location: string; ageMs: number }[] = []
    const { config } = loadConfig({ MERIDIAN_DATA_DIR: origin.dataDir, MERIDIAN_ORIGIN_PORT: '0', MERIDIAN_AUTH: 'off', MERIDIAN_IDLE_TIMEOUT_MS: String(30 * 60_000) })
    const server = await startOriginServer({ ...config, databaseUrl: await testDatabaseUrl(origin.dataDir, 'second.db') }, {
      log: silentLogger,
      worker: false,
      createEngine: (location, context) => {
        const engine = createEngine(location, context)
        const sweep = engine.sweepTemporary?.bind(engine)
        if (sweep) {
          engine.sweepTemporary = (olderThan, options) => {
            swept.push({ location: location.id, ageMs: Date.now() - olderThan.getTime() })
            return sweep(olderThan, options)
          }
        }
        return engine
      },
    })
    try {
      await expect.poll(() => swept.length, { timeout: 5000 }).toBe(config.locations.length)
      for (const { ageMs } of swept) expect(ageMs).toBeGreaterThanOrEqual(31 * 60_000 - 1000)
    } finally {
      await server.close()
    }
  })

  it('npm run gc reports the temporary files it removed per location, and refuses a grace under the idle timeout + 1 minute (3 by default)', async () => {
    leaveCrashedWrite('eu-west', 2048)
    const env = { ...process.env, MERIDIAN_DATA_DIR: origin.dataDir, DATABASE_URL: origin.config.databaseUrl }
    const gc = (...args: string[]) => scripts.run('gc', args, env)

    expect(await gc('--temp-grace=1')).toMatchObject({ code: 2 })
    // An origin whose idle timeout is 30 minutes may have a paused upload's file 20 minutes old.
    const longIdle = scripts.run('gc', ['--temp-grace=20'], { ...env, MERIDIAN_IDLE_TIMEOUT_MS: String(30 * 60_000) })
    expect(await longIdle).toMatchObject({ code: 2, stderr: expect.stringMatching(/at least 31/) })
    // A file just written is inside any allowed grace period: gc keeps it.
    const { code, stdout } = await gc('--older-than=0')
    expect(code).toBe(0)
    expect(stdout).toMatch(/ and 0 temporary files \(0 B\)/)
    expect(readdirSync(tmpDirOf('eu-west'))).toHaveLength(1)
  })
})
