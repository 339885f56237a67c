// The capped job-rate rounds of the scale benchmark (scale-jobs-rounds.ts), with real worker
// processes on the test database (SQLite, or PostgreSQL with MERIDIAN_TEST_DATABASE=postgres) and
// no CPU budget: the windows alternate in ABBA order with the lone worker rotating, the workers
// left out hold no job, the backlog is topped up so it cannot run dry, and each job's copy is done.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase } from '../../db/client.ts'
import { testDatabaseUrl } from '../../test/helpers/test-database.ts'
import { bundleScripts, type ScriptBundle } from '../../test/helpers/script-bundle.ts'
import { cappedJobRounds, poolRates } from './scale-jobs-rounds.ts'
import { median } from './report.ts'
import type { JobRate } from './scale-jobs.ts'

const dir = mkdtempSync(join(tmpdir(), 'meridian-job-rounds-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const rate = (workers: number, perSecond: number, cpu: number, db: number | null): JobRate => ({
  workers, loops: 1, perSecond, exhausted: false, workerCpuSeconds: cpu, databaseCpuSeconds: db, seconds: 3, busyRetries: 0,
})

describe('median and poolRates', () => {
  it('takes the middle (the mean of the middle two for an even count), unmoved by one outlier', () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([100, 4, 2, 3])).toBe(3.5)
  })
  it('pools windows by summing jobs, seconds and CPU', () => {
    const pooled = poolRates([rate(4, 100, 1.5, 0.6), rate(4, 200, 1.8, 0.9)])
    expect(pooled).toMatchObject({ workers: 4, seconds: 6, perSecond: 150, workerCpuSeconds: 3.3, databaseCpuSeconds: 1.5, exhausted: false })
    expect(poolRates([rate(1, 10, 0.4, null), rate(1, 20, 0.4, 0.1)]).databaseCpuSeconds).toBeNull()
  })
})

describe('cappedJobRounds', () => {
  // The worker bundled once (test/helpers/script-bundle.ts): two tsx starts were a third of the test.
  let bundle: ScriptBundle
  beforeAll(async () => { bundle = await bundleScripts(['bench/scale-jobs-worker']) })
  afterAll(() => bundle?.remove())

  it('alternates 1 and all workers in ABBA rounds over the same processes, keeping the backlog and leaving no job held', async () => {
    const url = await testDatabaseUrl(dir)
    const copyRoot = join(dir, 'copies')
    const confined: number[] = []
    // Windows of 0.25 s, told 0.5 s ahead (the workers' loops start at once: their 0.5 s lead-in).
    // Uncapped workers on a quiet machine finished ~2,000 jobs in 1 s (a 0.5 s window and its
    // lead-in; 300 ran dry): 3,000 is twice what they could do in 0.75 s, so none runs dry.
    const backlog = 3000
    const r = await cappedJobRounds({
      repoRoot: resolve(import.meta.dirname, '../..'), url, cluster: null, copyRoot, blobBytes: 4096,
      backlog, workers: 2, seconds: 0.25, rounds: 2, warmupJobs: 20, confine: (pid) => confined.push(pid),
      workerArgs: [bundle.path('bench/scale-jobs-worker')], leadMs: 500,
    })
    expect(new Set(confined).size).toBe(2)
    expect(r.rounds.map((x) => [x.first, x.lone, x.one.workers, x.four.workers])).toEqual([['four', 0, 1, 2], ['one', 1, 1, 2]])
    const windows = r.rounds.flatMap((x) => (x.first === 'four' ? [x.four, x.one] : [x.one, x.four]))
    for (const w of windows) expect(w).toMatchObject({ exhausted: false, seconds: 0.25 })
    for (const w of windows) expect(w.perSecond).toBeGreaterThan(0)
    expect(r.median.one).toBe(median(r.rounds.map((x) => x.one.perSecond)))
    expect(r.ratio.byRound).toBe(median(r.rounds.map((x) => x.four.perSecond / x.one.perSecond)))
    // Each window's jobs were replaced before the next one started.
    const countedBeforeLast = windows.slice(0, -1).reduce((s, w) => s + w.perSecond * w.seconds, 0)
    expect(r.toppedUp).toBeGreaterThanOrEqual(countedBeforeLast)

    const db = await openDatabase(url)
    try {
      const count = async (state: string) => Number(((await db.$execute('SELECT count(*) FROM replication_jobs WHERE state = ?', [state], 'get')).rows as unknown[])[0])
      // A worker idle between windows holds no claimed job.
      expect(await count('running')).toBe(0)
      const done = await count('done')
      expect(done + await count('pending')).toBe(backlog + 2 * 20 + r.toppedUp)
      // Every job completed copied its blob (the topped-up ones' sources included).
      expect(readdirSync(join(copyRoot, 'to')).length).toBe(done)
    } finally {
      await closeDatabase(db)
    }
  }, 120_000)
})
