// Crash loops (issue 7): the real origin and the real replication worker, each its own process on
// three fs locations, SIGKILLed at seeded random instants while images are pushed (monolithic,
// chunked and streamed layers, manifests, tags) and replicated, then started again, cycle after
// cycle. Afterwards every acknowledged image pulls byte-identical, `npm run verify -- --all` is
// clean, replication completes to every location, and gc leaves no temporary file and no part.
//
// MERIDIAN_CRASH_CYCLES (default 20, about 40 s here) and MERIDIAN_CRASH_SEED replay or lengthen it.

import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase, type Db } from '../../db/client.ts'
import { uploads } from '../../db/schema.ts'
import { loadConfig } from '../../origin/config/load.ts'
import { createLocationSet, type LocationSet } from '../../origin/locations.ts'
import { silentLogger } from '../../origin/log.ts'
import { collectAbandonedUploads } from '../../origin/uploads/cleanup.ts'
import { TEMP_GRACE_MS } from '../../origin/uploads/sweep-temporary.ts'
import { PROBE_KEY } from '../../storage/keys.ts'
import { freePort } from '../../scripts/bench/origin-process.ts'
import { presentMap, waitForReplication } from '../helpers/replication.ts'
import { PUSH_STYLES, pullDifferences, pushSeededImage, type AckedImage } from './image-pusher.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'
import {
  buildBundles, originProcess, registryEnv, removeBundles, ROOT, workerProcess, writeRegistryConfig, type RegistryProcess,
} from './registry-processes.ts'

const run = promisify(execFile)
const CYCLES = Number(process.env.MERIDIAN_CRASH_CYCLES ?? 20)
const SEED = Number(process.env.MERIDIAN_CRASH_SEED ?? 7)
const LOCATIONS = [{ id: 'us-east', lat: 39, lon: -77.5 }, { id: 'eu-west', lat: 53.3, lon: -6.3 }, { id: 'ap-south', lat: 19.1, lon: 72.9 }]
const KiB = 1024
const PUSHERS = 2
/** Images a pusher starts per cycle at most: bounds the bytes written (about 6 MiB a cycle). */
const IMAGES_PER_CYCLE = 2

let bundles: string
let dataDir: string
let env: Record<string, string>
let origin: RegistryProcess
let worker: RegistryProcess

beforeAll(async () => {
  bundles = await buildBundles()
  dataDir = mkdtempSync(join(tmpdir(), 'meridian-crash-'))
  env = registryEnv(dataDir, writeRegistryConfig(dataDir, LOCATIONS), await freePort(), await testDatabaseUrl(dataDir))
  origin = originProcess(bundles, env)
  worker = workerProcess(bundles, env)
})

afterAll(async () => {
  await origin?.kill()
  await worker?.kill()
  if (bundles) removeBundles(bundles)
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One pusher's images for one cycle, each shape drawn from its own seeded generator. */
async function pushUntilStopped(base: string, pusher: number, cycle: number, stopped: () => boolean, acked: AckedImage[]): Promise<number> {
  const random = seededRandom(SEED * 1_000_003 + cycle * 101 + pusher)
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!
  let attempts = 0
  for (let image = 0; image < IMAGES_PER_CYCLE && !stopped(); image++) {
    attempts++
    const layers = Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({
      size: Math.floor(256 * KiB + random() * 2816 * KiB),
      style: pick(PUSH_STYLES),
      chunk: pick([256 * KiB, 512 * KiB, 1024 * KiB]),
    }))
    try {
      acked.push(await pushSeededImage(base, `crash/p${pusher}`, `c${cycle}-i${image}`, layers))
    } catch {
      // The origin died under this push: not acknowledged, so nothing is promised about it.
      return attempts
    }
  }
  return attempts
}

/** Files in each location's `.tmp`, parts under uploads/, and upload session rows. */
async function leftovers(db: Db, locations: LocationSet): Promise<{ tempFiles: number; parts: number; sessions: number }> {
  let tempFiles = 0
  let parts = 0
  for (const { id, engine } of locations.all()) {
    const tmp = join(dataDir, 'locations', id, '.tmp')
    if (existsSync(tmp)) tempFiles += readdirSync(tmp, { withFileTypes: true }).filter((e) => e.isFile()).length
    for (let cursor: string | null | undefined; cursor !== null;) {
      const page = await engine.list('uploads/', { cursor: cursor ?? undefined })
      // A probe killed between its put and delete leaves its byte there: not a part.
      parts += page.keys.filter((k) => k.key !== PROBE_KEY).length
      cursor = page.cursor
    }
  }
  return { tempFiles, parts, sessions: (await db.select().from(uploads).all()).length }
}

describe('crash loops', () => {
  it(`acknowledged pushes survive ${CYCLES} cycles of SIGKILLing the origin and the worker (seed ${SEED})`, async () => {
    const started = performance.now()
    const base = `http://127.0.0.1:${env.MERIDIAN_ORIGIN_PORT}`
    const random = seededRandom(SEED)
    const acked: AckedImage[] = []
    const kills = { origin: 0, worker: 0 }
    let attempts = 0

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      if (!origin.running) await origin.start()
      if (!worker.running) await worker.start()
      let stopped = false
      const pushers = Array.from({ length: PUSHERS }, (_, p) => pushUntilStopped(base, p, cycle, () => stopped, acked))
      // A random instant within the pushes (and the copies the worker runs beside them).
      await sleep(100 + random() * 1400)
      const victim = random()
      const killing: Array<Promise<void>> = []
      if (victim < 0.7) { killing.push(origin.kill()); kills.origin++ }
      if (victim >= 0.4) { killing.push(worker.kill()); kills.worker++ }
      await Promise.all(killing)
      stopped = true
      for (const n of await Promise.all(pushers)) attempts += n
    }

    // Up again, cleanly this time: replication resumes from the durable jobs, leases expire.
    if (!origin.running) await origin.start()
    if (!worker.running) await worker.start()
    const { config } = loadConfig(env)
    const db = await openDatabase(config.databaseUrl)
    const locations = createLocationSet(config.locations, config.preference)
    try {
      await waitForReplication(db, { timeoutMs: 60_000, pollMs: 200 })
      const present = await presentMap(db)
      const everywhere = LOCATIONS.map((l) => l.id).sort()
      const short: string[] = []
      for (const image of acked) {
        for (const digest of [image.digest, ...image.blobs.map((b) => b.digest)]) {
          const at = [...(present.get(digest) ?? [])].sort()
          if (at.join() !== everywhere.join()) short.push(`${image.name}:${image.tag} ${digest} only in [${at}]`)
        }
      }
      expect(short, 'acknowledged blobs not replicated to every location').toEqual([])

      const differences: string[] = []
      for (const image of acked) differences.push(...await pullDifferences(base, image))
      expect(differences, 'acknowledged images that do not pull byte-identical').toEqual([])

      await origin.stop()
      await worker.stop()
      const verify = await run(process.execPath, ['--import', 'tsx', 'scripts/verify-placements.ts', '--all'], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 })
      expect(verify.stdout).toMatch(/^checked \d+ placements .*: 0 bad$/m)

      // `npm run gc -- --older-than=0` takes every session and part; the temp files are younger
      // than its grace period (a live write might still be filling one), so it keeps them...
      const before = await leftovers(db, locations)
      const script = await run(process.execPath, ['--import', 'tsx', 'scripts/gc.ts', '--older-than=0'], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 })
      expect(script.stdout).toMatch(/ 0 errors$/m)
      expect(await leftovers(db, locations)).toEqual({ tempFiles: before.tempFiles, parts: 0, sessions: 0 })
      // ...and the same pass with the clock past the grace period takes them too.
      const gc = await collectAbandonedUploads({ db, locations, log: silentLogger }, { olderThanMs: 0, tempGraceMs: TEMP_GRACE_MS, now: Date.now() + TEMP_GRACE_MS + 60_000 })
      const after = await leftovers(db, locations)
      expect(gc).toMatchObject({ tempItems: before.tempFiles, errors: 0 })
      expect(after).toEqual({ tempFiles: 0, parts: 0, sessions: 0 })

      expect(kills.origin + kills.worker).toBeGreaterThanOrEqual(CYCLES)
      expect(acked.length).toBeGreaterThan(CYCLES / 2)
      console.log(`crash loops (seed ${SEED}): ${CYCLES} cycles, ${kills.origin} origin kills, ${kills.worker} worker kills, ` +
        `${acked.length}/${attempts} pushes acknowledged, ${acked.reduce((n, i) => n + i.blobs.length + 1, 0)} blobs and manifests verified; ` +
        `before gc ${before.tempFiles} temp files, ${before.parts} upload parts, ${before.sessions} sessions; gc removed them, ` +
        `${gc.tempItems} temp files of ${(gc.tempBytes / 1024 / 1024).toFixed(1)} MiB after the grace period; after gc ${after.tempFiles}/${after.parts}/${after.sessions}; ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`)
    } finally {
      await locations.close()
      await closeDatabase(db)
    }
  }, 120_000 + CYCLES * 5_000)
})
