// Claim-and-complete rate of replication jobs (issue #11): a database seeded with pending jobs,
// then N worker processes (scripts/bench/scale-jobs-worker.ts) claiming and completing them for
// a fixed window, started together. Processes, not async loops in one process: on 2 cores, one
// Node process's single JavaScript thread would cap the rate before the database does. The CPU
// the workers and the PostgreSQL server used in the window is reported with the rate, so a
// plateau can be told apart: CPU-bound (the 2 cores are full) or database-bound (they are not).

import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { closeDatabase, openDatabase, type Db } from '../../db/client.ts'
import type { PostgresCluster } from '../../test/helpers/postgres.ts'
import { postgresCpuSeconds } from './scale-env.ts'

export interface JobRate {
  workers: number
  loops: number
  perSecond: number
  /** Some worker ran out of jobs before the window closed (the rate is then a lower bound). */
  exhausted: boolean
  workerCpuSeconds: number
  /** PostgreSQL server CPU in the window; null on SQLite (it runs inside the workers). */
  databaseCpuSeconds: number | null
  seconds: number
  /** Claims and completions SQLite answered SQLITE_BUSY (waited out busy_timeout), retried. */
  busyRetries: number
}

/**
 * Pending jobs for `count` blobs numbered from `first` (one target location each); with
 * `copyRoot`, their source files too. Numbers never reused, so a top-up between windows adds
 * new blobs, not conflicting ones.
 */
export async function seedJobs(db: Db, first: number, count: number, copyRoot: string | null, blobBytes: number): Promise<void> {
  if (copyRoot) mkdirSync(join(copyRoot, 'from'), { recursive: true })
  const now = Date.now()
  for (let start = first; start < first + count; start += 500) {
    const rows: unknown[] = []
    const n = Math.min(500, first + count - start)
    for (let i = start; i < start + n; i++) {
      let hex = createHash('sha256').update(`scale-job-${i}`).digest('hex')
      if (copyRoot) {
        const bytes = Buffer.alloc(blobBytes, i % 251)
        bytes.writeUInt32BE(i, 0)
        hex = createHash('sha256').update(bytes).digest('hex')
        writeFileSync(join(copyRoot, 'from', hex), bytes)
      }
      rows.push(`sha256:${hex}`, 'eu-west', 'pending', 0, now, now, now)
    }
    const values = Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')
    await db.$execute(`INSERT INTO replication_jobs (digest, location, state, attempts, due_at, created_at, updated_at) VALUES ${values}`, rows, 'run')
  }
}

export type JobWorker = Awaited<ReturnType<typeof startJobWorker>>

/** How a worker process is started: node's arguments (the bench runs the source through tsx). */
export const JOB_WORKER_ARGS = ['--import', 'tsx', 'scripts/bench/scale-jobs-worker.ts']

/**
 * One worker process, resolved once it printed "ready"; `next()` is its next stdout line.
 * `args`: node's arguments (a test passes a bundle of the same worker, quicker to start).
 */
export async function startJobWorker(repoRoot: string, url: string, loops: number, copyRoot: string | null, warmupJobs: number, args = JOB_WORKER_ARGS) {
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, SCALE_DATABASE_URL: url, SCALE_LOOPS: String(loops), SCALE_WARMUP_JOBS: String(warmupJobs), ...(copyRoot ? { SCALE_COPY_ROOT: copyRoot } : {}) },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  // A worker that died is reported by its exit; writing its window to it must not crash the bench.
  child.stdin!.on('error', () => undefined)
  // Lines queue until asked for (readline drops a line no listener waits for), and a worker that
  // exits fails every wait, present and future: one listener each, however many windows it runs.
  const queued: string[] = []
  const waiting: Array<{ resolve(line: string): void; reject(err: Error): void }> = []
  let exited: Error | null = null
  createInterface({ input: child.stdout! }).on('line', (line) => (waiting.length ? waiting.shift()!.resolve(line) : queued.push(line)))
  child.once('exit', (code) => {
    exited = new Error(`job worker exited (${code})`)
    for (const w of waiting.splice(0)) w.reject(exited)
  })
  const next = () => new Promise<string>((resolve, reject) => {
    if (queued.length) resolve(queued.shift()!)
    else if (exited) reject(exited)
    else waiting.push({ resolve, reject })
  })
  try {
    if ((await next()) !== 'ready') throw new Error('job worker: expected "ready"')
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return { child, next }
}

/**
 * One window of `seconds` for `active` (the other workers idle, waiting for theirs): each starts
 * its loops 500 ms before `from` (not counted) and reports the jobs it completed inside the
 * window; PostgreSQL's CPU is sampled at both ends. `from` is `leadMs` (default 1 s) after the
 * workers are told, so the message reaches each before its loops are due; at 500 they start at once.
 */
export async function jobWindow(active: JobWorker[], o: { cluster: PostgresCluster | null; loops: number; seconds: number; leadMs?: number }): Promise<JobRate> {
  const from = Date.now() + (o.leadMs ?? 1000)
  const until = from + o.seconds * 1000
  const results = active.map((w) => w.next())
  for (const w of active) w.child.stdin!.write(`${JSON.stringify({ from, until })}\n`)
  let cpuFrom = 0
  let cpuUntil = 0
  if (o.cluster) {
    const cluster = o.cluster
    await new Promise((r) => setTimeout(r, from - Date.now()))
    cpuFrom = postgresCpuSeconds(cluster)
    await new Promise((r) => setTimeout(r, until - Date.now()))
    cpuUntil = postgresCpuSeconds(cluster)
  }
  const done = (await Promise.all(results)).map((l) => JSON.parse(l) as { count: number; exhausted: boolean; cpuSeconds: number; busy: number })
  return {
    workers: active.length, loops: o.loops, seconds: o.seconds,
    perSecond: done.reduce((s, d) => s + d.count, 0) / o.seconds,
    exhausted: done.some((d) => d.exhausted),
    workerCpuSeconds: done.reduce((s, d) => s + d.cpuSeconds, 0),
    databaseCpuSeconds: o.cluster ? cpuUntil - cpuFrom : null,
    busyRetries: done.reduce((s, d) => s + d.busy, 0),
  }
}

/**
 * `confine`: called with each worker's pid once it is ready, before the window (a CPU budget);
 * `warmupJobs`: jobs each worker completes before it is ready, at full speed (from the backlog).
 */
export async function jobRate(o: { repoRoot: string; url: string; cluster: PostgresCluster | null; workers: number; loops: number; seconds: number; seedCount: number; copyRoot: string | null; blobBytes: number; confine?: (pid: number, index: number) => void; warmupJobs?: number }): Promise<JobRate> {
  const db = await openDatabase(o.url)
  try {
    await seedJobs(db, 0, o.seedCount, o.copyRoot, o.blobBytes)
  } finally {
    await closeDatabase(db)
  }
  const started = await Promise.allSettled(Array.from({ length: o.workers }, () => startJobWorker(o.repoRoot, o.url, o.loops, o.copyRoot, o.warmupJobs ?? 0)))
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  try {
    const failed = started.find((s) => s.status === 'rejected')
    if (failed) throw failed.reason
    workers.forEach((w, i) => o.confine?.(w.child.pid!, i))
  } catch (err) {
    for (const w of workers) w.child.kill('SIGKILL')
    throw err
  }
  try {
    return await jobWindow(workers, o)
  } finally {
    // End of stdin: each worker closes its database and exits.
    for (const w of workers) w.child.stdin!.end()
  }
}
