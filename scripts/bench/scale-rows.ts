// The scale benchmark's figures as table rows and notes, each judged against issue #11's goals.

import type { Engine } from './scale-env.ts'
import type { JobRate } from './scale-jobs.ts'
import type { Lags } from './scale-lag.ts'
import type { RateResult } from './scale-push.ts'
import type { EngineResults, ScaleOptions } from './scale.ts'
import { lagCell, ms, perSecond, times, type ScaleRow } from './scale-report.ts'

/** Due jobs seeded before each job-rate window, and the larger backlog of one row. */
export const JOB_BACKLOG = 4000
export const BIG_BACKLOG = 20_000

export const SCALE_GOALS = { twoOrigins: 1.6, postgresVsSqlite: 0.5, fourWorkers: 3, replicationP99Ms: 50 }

const cpuPerOp = (r: RateResult) => (r.cpuSeconds ? r.cpuSeconds.map((c) => ms((c * 1000) / Math.max(1, r.count))) : [])
const jobCpu = (j: JobRate) => {
  const n = Math.max(1, j.perSecond * j.seconds)
  return `workers ${ms((j.workerCpuSeconds * 1000) / n)}${j.databaseCpuSeconds === null ? '' : ` + PostgreSQL ${ms((j.databaseCpuSeconds * 1000) / n)}`} ms CPU/job`
}

export function scaleRows(raw: Record<Engine, EngineResults>, o: Pick<ScaleOptions, 'clients' | 'seconds' | 'jobSeconds' | 'lagCount' | 'copies'>): { rows: ScaleRow[]; notes: string[] } {
  const { sqlite: s, postgres: p } = raw
  const G = SCALE_GOALS
  const rows: ScaleRow[] = []
  const push = (what: 'blobs' | 'manifests', name: string) => {
    const vsSqlite = p.push.one[what].perSecond / s.push.one[what].perSecond
    const scale = p.push.two[what].perSecond / p.push.one[what].perSecond
    const sqliteScale = s.push.two[what].perSecond / s.push.one[what].perSecond
    rows.push(
      { figure: `${name}, 1 origin, ${o.clients} clients`, sqlite: perSecond(s.push.one[what].perSecond), postgres: perSecond(p.push.one[what].perSecond), ratio: `PG/SQLite ${times(vsSqlite)}`, goal: `≥ ${G.postgresVsSqlite}×`, pass: vsSqlite >= G.postgresVsSqlite },
      { figure: `${name}, 2 origin processes, one database`, sqlite: perSecond(s.push.two[what].perSecond), postgres: perSecond(p.push.two[what].perSecond), ratio: `2/1: PG ${times(scale)}, SQLite ${times(sqliteScale)}`, goal: `PG ≥ ${G.twoOrigins}×`, pass: scale >= G.twoOrigins },
    )
  }
  push('blobs', 'blob commits (POST + PUT 1 KiB)')
  push('manifests', 'manifest PUTs by tag')

  const job = (name: string, pick: (r: EngineResults) => JobRate | null, base: ((r: EngineResults) => JobRate | null) | null, goal: boolean) => {
    const sj = pick(s)
    const pj = pick(p)
    if (!sj || !pj) return
    const mark = (j: JobRate) => `${perSecond(j.perSecond)}${j.exhausted ? ' (ran out)' : ''}`
    const ratio = (r: EngineResults) => pick(r)!.perSecond / base!(r)!.perSecond
    rows.push({
      figure: name, sqlite: mark(sj), postgres: mark(pj),
      ratio: base ? `4/1: PG ${times(ratio(p))}, SQLite ${times(ratio(s))}` : '',
      goal: goal ? `PG ≥ ${G.fourWorkers}×` : '', pass: goal ? ratio(p) >= G.fourWorkers : null,
    })
  }
  job('jobs claimed + completed, 1 worker process (no copy)', (r) => r.jobs.one, null, false)
  job('jobs claimed + completed, 4 worker processes (no copy)', (r) => r.jobs.four, (r) => r.jobs.one, true)
  job('  same, 1 process × 4 concurrent loops', (r) => r.jobs.oneProcessFourLoops, (r) => r.jobs.one, false)
  const big = (r: EngineResults) => r.jobs.bigBacklog.perSecond / r.jobs.one.perSecond
  rows.push({
    figure: `  same as 1 worker, backlog ${BIG_BACKLOG.toLocaleString('en')} due jobs instead of ${JOB_BACKLOG.toLocaleString('en')}`,
    sqlite: perSecond(s.jobs.bigBacklog.perSecond), postgres: perSecond(p.jobs.bigBacklog.perSecond),
    ratio: `big/small: PG ${times(big(p))}, SQLite ${times(big(s))}`, goal: '', pass: null,
  })
  job('jobs with a 4 KiB fs copy each, 1 worker process', (r) => r.jobs.copyOne, null, false)
  job('jobs with a 4 KiB fs copy each, 4 worker processes', (r) => r.jobs.copyFour, (r) => r.jobs.copyOne, false)

  const lag = (figure: string, sl: Lags, pl: Lags, goalMs: number | null) => rows.push({
    figure, sqlite: lagCell(sl), postgres: lagCell(pl), ratio: '',
    goal: goalMs === null ? '' : `p99 ≤ ${goalMs} ms (both)`, pass: goalMs === null ? null : sl.p99Ms <= goalMs && pl.p99Ms <= goalMs,
  })
  lag(`feed lag, writer = reader's origin (${o.lagCount} PUTs)`, s.feed.sameProcess, p.feed.sameProcess, null)
  lag('feed lag, writer = another origin process', s.feed.otherProcess, p.feed.otherProcess, null)
  lag(`replication lag, ${o.lagCount} × 4 KiB back to back`, s.replication.small, p.replication.small, G.replicationP99Ms)
  lag(`replication lag, ${o.lagCount} × 1 MiB back to back`, s.replication.mib, p.replication.mib, G.replicationP99Ms)

  const notes = [
    `push rates: ops completed in a ${o.seconds} s window after a 1 s warm-up; the ${o.clients} clients run in this benchmark's own Node process on the same 2 cores.`,
    ...(['blobs', 'manifests'] as const).flatMap((w) => (['one', 'two'] as const).map((n) => {
      const [so] = cpuPerOp(s.push[n][w])
      const [po, pd] = cpuPerOp(p.push[n][w])
      return `  ${w}, ${n === 'one' ? '1 origin' : '2 origins'}: CPU ms/op SQLite origin(s) ${so}; PostgreSQL origin(s) ${po} + server ${pd}` +
        `; latency p50/p99 SQLite ${ms(s.push[n][w].p50Ms)}/${ms(s.push[n][w].p99Ms)} ms, PG ${ms(p.push[n][w].p50Ms)}/${ms(p.push[n][w].p99Ms)} ms`
    })),
    `jobs: each loop claims one job (claimDueJobs, limit 1) and completes it (completeJob), ${o.jobSeconds} s window after 0.5 s; worker processes run tsx.`,
    ...(['one', 'four', 'oneProcessFourLoops', 'bigBacklog', 'copyOne', 'copyFour'] as const).flatMap((k) => {
      const sj = s.jobs[k]
      const pj = p.jobs[k]
      return sj && pj ? [`  ${k}: SQLite ${jobCpu(sj)}; PostgreSQL ${jobCpu(pj)}`] : []
    }),
    'feed lag: change `at` (stamped inside the writing transaction) → the long poll\'s answer in this process; SQLite across processes wakes by the 200 ms poll (no cross-process signal).',
    'replication lag: job created_at (the push transaction) → finished_at of the blob\'s slowest job (2 target locations); SQLite: worker inside the origin; PostgreSQL: `npm run worker` process, woken by NOTIFY.',
    'PostgreSQL: a throwaway cluster on loopback, fsync + synchronous_commit on (SQLite: WAL, synchronous=FULL).',
  ]
  return { rows, notes }
}
