// Replication job claims by several workers on one database (issue #11 "Several origins and
// workers"): each with its own handle, as separate processes would be. Every job is claimed once
// while its lease holds; a worker that dies loses its jobs when the lease expires, to the others,
// and what it writes late is fenced off. Runs on SQLite and PostgreSQL.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase, type Db } from '../../db/client.ts'
import { enqueueReplication } from '../../db/queries/placements.ts'
import { claimDueJobs, completeJob, failJob, type Job } from '../../db/queries/replication.ts'
import { replicationJobs } from '../../db/schema.ts'
import { testDatabaseKind, testDatabaseUrl } from '../helpers/test-database.ts'

const LEASE_MS = 60_000
// A worker's claim size: its free copy slots (replication.concurrency, 4 by default).
const BATCH = 4
const FAIL = { error: 'late', maxAttempts: 8, backoffBaseMs: 10, backoffMaxMs: 10 }

interface Claim { id: number; owner: string; from: number; until: number }

// Map.groupBy is Node 21+.
function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>()
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item])
  return out
}

describe(`replication job claims by several workers (${testDatabaseKind()})`, () => {
  let dir: string
  let url: string
  const handles: Db[] = []
  let seed: Db
  const open = async () => { const db = await openDatabase(url); handles.push(db); return db }
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-claims-'))
    url = await testDatabaseUrl(dir)
    seed = await open()
  })
  afterAll(async () => {
    for (const db of handles) await closeDatabase(db)
    rmSync(dir, { recursive: true, force: true })
  })

  /** `count` due jobs for `location`, one per made-up blob, in one transaction. */
  async function enqueue(location: string, count: number): Promise<void> {
    const now = Date.now()
    await seed.transaction(async (tx) => {
      for (let i = 0; i < count; i++) await enqueueReplication(tx, `sha256:${i.toString(16).padStart(64, '0')}`, [location], now)
    })
  }

  /** Empty claims answered while jobs were still due (the worker would have slept a poll). */
  let emptyWhileDue = 0
  /** The size of every non-empty claim. */
  const batches: number[] = []

  /** A worker's loop: claim a batch, complete it, until no job of `location` is pending. */
  async function drain(db: Db, owner: string, location: string, claims: Claim[]): Promise<void> {
    for (;;) {
      const jobs = await claimDueJobs(db, { owner, limit: BATCH, leaseMs: LEASE_MS, maxAttempts: 8 })
      if (jobs.length === 0) {
        if ((await statesOf(location)).pending === undefined) return
        emptyWhileDue++
        continue
      }
      batches.push(jobs.length)
      for (const j of jobs) claims.push({ id: j.id, owner, from: j.updatedAt, until: j.leaseUntil! })
      await Promise.all(jobs.map((j) => completeJob(db, j, { size: 1, source: 'src' })))
    }
  }

  /** Pairs of claims of one job by two owners whose leases overlap in time. */
  function overlaps(claims: Claim[]): string[] {
    const byId = groupBy(claims, (c) => c.id)
    const found: string[] = []
    for (const [id, cs] of byId) {
      for (const x of cs) for (const y of cs) if (x !== y && x.from <= y.from && y.from <= x.until) found.push(`job ${id}: ${x.owner} and ${y.owner}`)
    }
    return found
  }

  async function statesOf(location: string): Promise<Record<string, number>> {
    const rows = await seed.select({ state: replicationJobs.state }).from(replicationJobs).where(eq(replicationJobs.location, location)).all()
    return Object.fromEntries([...groupBy(rows, (r) => r.state)].map(([s, rs]) => [s, rs.length]))
  }

  /** Transactions PostgreSQL rolled back so far in this database (serialization failures re-run). */
  async function rollbacks(): Promise<number> {
    if (testDatabaseKind() !== 'postgres') return 0
    const [row] = await seed.$all<{ n: number }>(sql`select xact_rollback::int as n from pg_stat_database where datname = current_database()`)
    return Number(row.n)
  }

  /** Claims and completes `count` jobs with `workers` workers; returns jobs per second. */
  async function run(location: string, count: number, workers: number, claims: Claim[]): Promise<{ rate: number; rollbacks: number; emptyWhileDue: number }> {
    await enqueue(location, count)
    const dbs = await Promise.all(Array.from({ length: workers }, () => open()))
    // Every handle has its connection open before the clock starts: only the loop is timed.
    await Promise.all(dbs.map((db) => db.$all(sql`select 1`)))
    const rolledBack = await rollbacks()
    emptyWhileDue = 0
    const started = performance.now()
    await Promise.all(dbs.map((db, i) => drain(db, `w${i + 1}`, location, claims)))
    const rate = count / ((performance.now() - started) / 1000)
    return { rate, rollbacks: (await rollbacks()) - rolledBack, emptyWhileDue }
  }

  it('claims each of 500 jobs exactly once among 4 workers and ends them all done; prints the rate with 1 and 4 workers', async () => {
    const claims: Claim[] = []
    const four = await run('four', 500, 4, claims)
    const fourBatches = batches.splice(0)
    expect(overlaps(claims)).toEqual([])
    expect(claims).toHaveLength(500)
    expect(new Set(claims.map((c) => c.id)).size).toBe(500)
    expect(await statesOf('four')).toEqual({ done: 500 })
    // How the jobs spread over the workers (printed below).
    const perWorker = groupBy(claims, (c) => c.owner)
    const one = await run('one', 500, 1, [])
    expect(await statesOf('one')).toEqual({ done: 500 })
    const over = fourBatches.filter((n) => n > BATCH)
    console.log(`${testDatabaseKind()}: jobs per claim (limit ${BATCH}): 4 workers: ${fourBatches.length} claims, ${over.length} over the limit (${over.join(' ')}); 1 worker: largest ${Math.max(...batches)}`)
    console.log(`${testDatabaseKind()}: claim-and-complete ${Math.round(one.rate)} jobs/s with 1 worker, ${Math.round(four.rate)} jobs/s with 4 (${(four.rate / one.rate).toFixed(2)}×); `
      + `transactions rolled back: ${one.rollbacks} with 1, ${four.rollbacks} with 4; empty claims while jobs were due: ${one.emptyWhileDue} with 1, ${four.emptyWhileDue} with 4; per worker of 4: ${[...perWorker].map(([o, cs]) => `${o} ${cs.length}`).join(', ')}`)
    // A claim takes at most `limit` jobs: a worker's limit is its free copy slots.
    expect(Math.max(...fourBatches, ...batches)).toBeLessThanOrEqual(BATCH)
  })

  it('gives a dead worker\'s jobs to the others once its lease expires, and fences what it writes late', async () => {
    await enqueue('dead', 40)
    const dead = await open()
    const held = await claimDueJobs(dead, { owner: 'w-dead', limit: 40, leaseMs: 1000, maxAttempts: 8 })
    expect(held).toHaveLength(40)
    const others = await Promise.all([open(), open(), open()])
    // While its lease holds, nobody else gets them.
    expect(await claimDueJobs(others[0], { owner: 'w1', limit: 40, leaseMs: LEASE_MS, maxAttempts: 8 })).toEqual([])
    await new Promise((r) => setTimeout(r, Math.max(...held.map((j) => j.leaseUntil!)) - Date.now() + 20))

    const taken = (await Promise.all(others.map((db, i) => claimDueJobs(db, { owner: `w${i + 1}`, limit: 15, leaseMs: LEASE_MS, maxAttempts: 8 })))).flat()
    const claims: Claim[] = [...held, ...taken].map((j) => ({ id: j.id, owner: j.leaseOwner!, from: j.updatedAt, until: j.leaseUntil! }))
    expect(overlaps(claims)).toEqual([])
    expect(taken.map((j) => j.id).sort((a, b) => a - b)).toEqual(held.map((j) => j.id).sort((a, b) => a - b))
    // The expired lease counts as a failed attempt.
    expect(taken.every((j) => j.attempts === 1 && j.lastError?.includes('lease expired'))).toBe(true)

    const byId = new Map(taken.map((j) => [j.id, j]))
    const dbOf = (j: Job) => others[Number(j.leaseOwner!.slice(1)) - 1]
    const [early, late] = [held.slice(0, 20), held.slice(20)]
    // Failing a job another worker now holds: 'lost', the job stays with its new holder.
    for (const j of early) expect(await failJob(dead, j, FAIL)).toBe('lost')
    expect(await statesOf('dead')).toEqual({ running: 40 })
    await Promise.all(taken.map((j) => completeJob(dbOf(j), j, { size: 1, source: 'src' })))
    const before = await seed.select().from(replicationJobs).where(eq(replicationJobs.location, 'dead')).all()
    // Completing or failing a job another worker finished: the job row is left as that one wrote it.
    for (const j of late) {
      await completeJob(dead, j, { size: 1, source: 'dead-source' })
      expect(await failJob(dead, j, FAIL)).toBe('lost')
    }
    const after = await seed.select().from(replicationJobs).where(eq(replicationJobs.location, 'dead')).all()
    expect(after).toEqual(before)
    expect(after.every((j) => j.state === 'done' && j.sourceLocation === 'src' && byId.get(j.id)?.leaseOwner !== 'w-dead')).toBe(true)
  })
})
