// The capped 1 → 4 workers job rate (issue #11: "jobs/s scale ≥ 3× from 1 to 4 workers"), in
// alternating rounds over the same 4 worker processes on one database, as the capped push figure
// is (scale-capped.ts cappedPushRounds). One 3 s window per side, each side on its own fresh
// database and processes, swung 2.6-5.2× from run to run on this shared 2-core machine: the
// other load changes from one window to the next. Here each round runs a 1-worker window and a
// 4-worker window back to back, in ABBA order (4 then 1, 1 then 4, ...), so a drift of the
// machine (or of warm-up) falls on both sides alike and each round's ratio compares neighbours.
//
// The workers left out of a window idle on their stdin (scale-jobs-worker.ts): they hold no job
// (each completes what it claimed before it looks at the clock), so nobody waits out a lease,
// and they stay in their cgroups, warm, with their connections open. Before every window the
// pending backlog is topped back up to `backlog` with new jobs, so each window starts from the
// same number of due jobs as the uncapped rows (a claim's cost grows with it) and the backlog
// cannot run dry however many rounds there are.

import { closeDatabase, openDatabase, type Db } from '../../db/client.ts'
import type { PostgresCluster } from '../../test/helpers/postgres.ts'
import { jobWindow, seedJobs, startJobWorker, type JobRate, type JobWorker } from './scale-jobs.ts'
import { median } from './report.ts'

export type JobSide = 'one' | 'four'

export interface JobRounds {
  /**
   * 4 workers over 1. `byRound`: the median of the per-round ratios (each round's 4-worker window
   * over its 1-worker one, run back to back), the figure: a slow drift of the machine mostly
   * cancels inside a round, and the median drops a round that a sudden change split (another
   * process's load starting or stopping between its two windows), which moves both a ratio of
   * medians and one of pooled sums (one run here: rounds 3.81, 3.93, 2.78, 3.95×; their median
   * 3.87×, the medians' ratio 3.20×, pooled 3.55×). The other two are kept beside it.
   */
  ratio: { byRound: number; min: number; max: number; ofMedians: number; pooled: number }
  /** Each side's median window rate: the rows' cells. */
  median: Record<JobSide, number>
  /** Each side's windows pooled (jobs and CPU summed over all its windows): the CPU notes. */
  pooled: Record<JobSide, JobRate>
  /** Each round's two windows; `lone`: the worker (0-3) that ran the 1-worker window. */
  rounds: Array<Record<JobSide, JobRate> & { lone: number; first: JobSide }>
  /** Jobs seeded between windows to bring the backlog back to `backlog`. */
  toppedUp: number
  backlog: number
}

/** Windows of one side as one: jobs, seconds and CPU summed. */
export function poolRates(list: JobRate[]): JobRate {
  const seconds = list.reduce((s, j) => s + j.seconds, 0)
  const dbCpu = list.map((j) => j.databaseCpuSeconds)
  return {
    workers: list[0].workers, loops: list[0].loops, seconds,
    perSecond: list.reduce((s, j) => s + j.perSecond * j.seconds, 0) / seconds,
    exhausted: list.some((j) => j.exhausted),
    workerCpuSeconds: list.reduce((s, j) => s + j.workerCpuSeconds, 0),
    databaseCpuSeconds: dbCpu.some((c) => c === null) ? null : dbCpu.reduce((s, c) => s! + c!, 0),
    busyRetries: list.reduce((s, j) => s + j.busyRetries, 0),
  }
}

/** Round r's order: the 4-worker window first in even rounds (A B B A ...), so warm-up left counts against the goal. */
export const roundOrder = (r: number): JobSide[] => (r % 2 === 0 ? ['four', 'one'] : ['one', 'four'])

async function pendingJobs(db: Db): Promise<number> {
  const { rows } = await db.$execute(`SELECT count(*) FROM replication_jobs WHERE state = 'pending'`, [], 'get')
  return Number((rows as unknown[])[0])
}

/** Ends each worker's stdin (it closes its database and exits); one still there after 10 s is killed. */
async function stopWorkers(workers: JobWorker[]): Promise<void> {
  await Promise.all(workers.map(async ({ child }) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.stdin!.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }))
}

/**
 * `workers` processes on `url`, each first completing `warmupJobs` at full speed, then confined
 * (`confine`: a CPU budget each), then `rounds` rounds of a 1-worker and a `workers`-worker
 * window of `seconds` each. The lone worker is a different process each round, so every process
 * takes its turn alone. `workerArgs` and `leadMs`: startJobWorker's and jobWindow's (a test's
 * quicker start and shorter lead-in; the bench leaves both at their defaults).
 */
export async function cappedJobRounds(o: {
  repoRoot: string; url: string; cluster: PostgresCluster | null; copyRoot: string | null; blobBytes: number
  backlog: number; workers: number; seconds: number; rounds: number; warmupJobs: number; confine(pid: number, index: number): void
  workerArgs?: string[]; leadMs?: number
}): Promise<JobRounds> {
  const db = await openDatabase(o.url)
  let seeded = o.backlog + o.workers * o.warmupJobs
  let toppedUp = 0
  let workers: JobWorker[] = []
  try {
    await seedJobs(db, 0, seeded, o.copyRoot, o.blobBytes)
    const started = await Promise.allSettled(Array.from({ length: o.workers }, () => startJobWorker(o.repoRoot, o.url, 1, o.copyRoot, o.warmupJobs, o.workerArgs)))
    workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
    const failed = started.find((s) => s.status === 'rejected')
    if (failed) throw failed.reason
    workers.forEach((w, i) => o.confine(w.child.pid!, i))
    const rounds: JobRounds['rounds'] = []
    for (let r = 0; r < o.rounds; r++) {
      const lone = r % o.workers
      const round = { lone, first: roundOrder(r)[0] } as JobRounds['rounds'][number]
      for (const side of roundOrder(r)) {
        const missing = o.backlog - await pendingJobs(db)
        if (missing > 0) {
          await seedJobs(db, seeded, missing, o.copyRoot, o.blobBytes)
          seeded += missing
          toppedUp += missing
        }
        round[side] = await jobWindow(side === 'four' ? workers : [workers[lone]], { cluster: o.cluster, loops: 1, seconds: o.seconds, leadMs: o.leadMs })
      }
      rounds.push(round)
    }
    const side = (k: JobSide) => rounds.map((r) => r[k])
    const medians = { one: median(side('one').map((j) => j.perSecond)), four: median(side('four').map((j) => j.perSecond)) }
    const pooled = { one: poolRates(side('one')), four: poolRates(side('four')) }
    const ratios = rounds.map((r) => r.four.perSecond / r.one.perSecond)
    return {
      ratio: { byRound: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), ofMedians: medians.four / medians.one, pooled: pooled.four.perSecond / pooled.one.perSecond },
      median: medians, pooled, rounds, toppedUp, backlog: o.backlog,
    }
  } finally {
    await stopWorkers(workers)
    await closeDatabase(db)
  }
}
