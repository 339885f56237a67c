// The scale benchmark's capped rows and their notes (scale-capped.ts measures them): 1 vs 2
// origins and 1 vs 4 workers, each process at a fixed CPU budget; the 2-origin and 4-worker rows
// carry issue #11's scale-out goals. The notes say what each part used, in CPUs, so a reader can
// tell a process bound by its budget (near 100%) from one waiting on the database (well under).

import type { Engine } from './scale-env.ts'
import type { JobRate } from './scale-jobs.ts'
import type { JobRounds, JobSide } from './scale-jobs-rounds.ts'
import type { RateResult } from './scale-push.ts'
import type { ScaleRaw } from './scale.ts'
import { busyNote, MISSING, perSecond, ratioCell, times, type ScaleRow } from './scale-report.ts'

const NAME: Record<Engine, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' }
const cell = (v: { perSecond: number } | undefined) => (v ? perSecond(v.perSecond) : MISSING)
const ratio = (top: { perSecond: number } | undefined, bottom: { perSecond: number } | undefined) => (top && bottom ? top.perSecond / bottom.perSecond : null)

/** 1 origin and 2 origins, each origin at its budget; the 2-origin row carries the goal. */
export function cappedPushRows(raw: ScaleRaw, what: 'blobs' | 'manifests', name: string, goal: number): ScaleRow[] {
  const s = raw.sqlite?.capped
  const p = raw.postgres?.capped
  if (!s && !p) return []
  const cpus = (s ?? p)!.settings.originCpus
  const scale = ratio(p?.push.two[what], p?.push.one[what])
  const vsSqlite = ratio(p?.push.one[what], s?.push.one[what])
  return [
    { figure: `${name}, 1 origin at ${cpus} CPU`, sqlite: cell(s?.push.one[what]), postgres: cell(p?.push.one[what]), ratio: vsSqlite === null ? '' : `PG/SQLite ${times(vsSqlite)}`, goal: '', pass: null },
    {
      figure: `${name}, 2 origins at ${cpus} CPU each`, sqlite: cell(s?.push.two[what]), postgres: cell(p?.push.two[what]),
      ratio: ratioCell('2/1', scale, ratio(s?.push.two[what], s?.push.one[what])), goal: `PG ≥ ${goal}×`, pass: scale === null ? null : scale >= goal,
    },
  ]
}

/**
 * 1 worker and 4 workers, each at its budget, without and with a small copy per job: each side's
 * median window of the alternating rounds (scale-jobs-rounds.ts); the 4-worker rows carry the goal,
 * judged on the median of the per-round ratios (why: JobRounds.ratio).
 */
export function cappedJobRows(raw: ScaleRaw, goal: number): ScaleRow[] {
  const s = raw.sqlite?.capped
  const p = raw.postgres?.capped
  if (!s && !p) return []
  const cpus = (s ?? p)!.settings.workerCpus
  const mark = (j: JobRounds | undefined, k: JobSide) => (j ? `${perSecond(j.median[k])}${j.pooled[k].exhausted ? ' (ran out)' : ''}` : MISSING)
  const scaleOf = (j: JobRounds | undefined) => (j ? j.ratio.byRound : null)
  const pair = (what: string, k: 'plain' | 'copy'): ScaleRow[] => {
    const [sj, pj] = [s?.jobs[k], p?.jobs[k]]
    if (!sj && !pj) return []
    const scale = scaleOf(pj)
    return [
      { figure: `jobs (${what}), 1 worker process at ${cpus} CPU`, sqlite: mark(sj, 'one'), postgres: mark(pj, 'one'), ratio: '', goal: '', pass: null },
      {
        figure: `jobs (${what}), 4 worker processes at ${cpus} CPU each`, sqlite: mark(sj, 'four'), postgres: mark(pj, 'four'),
        ratio: ratioCell('4/1 by round', scale, scaleOf(sj)), goal: `PG ≥ ${goal}×`, pass: scale === null ? null : scale >= goal,
      },
    ]
  }
  return [...pair('no copy', 'plain'), ...pair('a 4 KiB fs copy each', 'copy')]
}

const cores = (n: number) => n.toFixed(2)
const share = (used: number, budget: number) => `${Math.round((100 * used) / budget)}%`

/**
 * What each part used in the capped windows, in CPUs (CPU seconds / window): the processes'
 * share of their budgets (near 100%: the budget bounds them; well under: they wait, on the
 * database or a lock), and the sum beside the machine's 2 cores (it must fit for the budgets to
 * be the bound).
 */
export function cappedNotes(raw: ScaleRaw, o: { jobSeconds: number }): string[] {
  const engines = (Object.keys(raw) as Engine[]).filter((e) => raw[e]?.capped)
  if (engines.length === 0) return []
  const b = raw[engines[0]]!.capped!.settings
  const notes = [
    `capped rows: one origin (worker) per machine, modelled as one fixed CPU budget per process: each origin process in a cgroup of its own at ${b.originCpus} CPU, ` +
      `each worker process at ${b.workerCpus} CPU (${b.describe}); PostgreSQL and the clients uncapped and shared, as a deployment's database and users are. ` +
      'A process added brings its own CPU, as on its own machine, instead of splitting these 2 cores, so these rows carry the scale-out goals; the uncapped rows above them show the 2-core limit. ' +
      `Each process warms up at full speed before it is capped (origins: ${b.warmupSeconds.blobs} s of blob commits + ${b.warmupSeconds.manifests} s of manifest PUTs, both at once; workers: ${b.warmupJobs} jobs each). ` +
      `Pushes: the same 2 origin processes, both or one alone (each in turn), ${b.clients} clients, ` +
      `${b.rounds} rounds of a ${b.seconds} s window (after ${b.warmupMs / 1000} s) per side in ABBA order (2 origins first). ` +
      `Jobs: the same 4 worker processes on one database, 1 alone (each in turn; the others idle, holding no job) or all 4, ${b.jobRounds} rounds of a ${o.jobSeconds} s window (after 0.5 s) per side in ABBA order (4 workers first), ` +
      `the due backlog topped up before each window to the uncapped rows' count. A row shows its side's median window; the ratio is the median of the per-round ratios ` +
      '(a round\'s 4-worker window over its 1-worker one, run back to back: a slow drift of the machine mostly cancels inside a round, and the median drops a round that a sudden change of the other load split, ' +
      'which moves a ratio of medians or of pooled sums); the notes give every round, the min–max of the per-round ratios, and the other two ratios.',
    `  budgets fixed (not tuned to the goals) from the uncapped CPU per op on PostgreSQL: origin ~15 ms + server ~5.6 ms per blob commit, worker ~1.7 + server ~0.9 ms per job; ` +
      `2 × ${b.originCpus} or 4 × ${b.workerCpus} CPU plus the database and the clients fit in ~1 of the 2 cores, leaving the other for noise (the lines below show what each used). ` +
      `Period ${b.periodMs} ms: a throttled process stops ≤ ${Math.round(b.periodMs * (1 - b.workerCpus))} ms at a time, not 70-85 ms holding a transaction as at the 100 ms default.`,
  ]
  for (const e of engines) {
    const c = raw[e]!.capped!
    const push = (n: 'one' | 'two', w: 'blobs' | 'manifests') => {
      const r: RateResult = c.push[n][w]
      const count = n === 'one' ? 1 : 2
      const [origins, server, client] = (r.cpuSeconds ?? [NaN, NaN, NaN]).map((x) => x / (b.seconds * b.rounds))
      const db = e === 'postgres' ? ` + PostgreSQL ${cores(server)}` : ''
      return `${count} origin${count > 1 ? 's' : ''} ${perSecond(r.perSecond)}: origins ${cores(origins)} CPU (${share(origins, count * b.originCpus)} of budget)${db} + clients ${cores(client)} = ${cores(origins + (e === 'postgres' ? server : 0) + client)}`
    }
    const jobs = (j: JobRate) => {
      const workers = j.workerCpuSeconds / j.seconds
      const db = j.databaseCpuSeconds === null ? 0 : j.databaseCpuSeconds / j.seconds
      return `${j.workers} worker${j.workers > 1 ? 's' : ''} ${perSecond(j.perSecond)}: workers ${cores(workers)} CPU (${share(workers, j.workers * b.workerCpus)} of budget)${j.databaseCpuSeconds === null ? '' : ` + PostgreSQL ${cores(db)}`} = ${cores(workers + db)}${busyNote(j.busyRetries)}`
    }
    const jobRounds = (what: string, r: JobRounds) => {
      const byRound = r.rounds.map((x) => `${perSecond(x.one.perSecond)} → ${perSecond(x.four.perSecond)} (${times(x.four.perSecond / x.one.perSecond)})`).join(', ')
      return [
        `  ${NAME[e]} jobs (${what}), by round, 1 → 4 workers: ${byRound}; per-round ratio ${times(r.ratio.min)}–${times(r.ratio.max)}, median ${times(r.ratio.byRound)} (the figure); ` +
          `median/median ${times(r.ratio.ofMedians)}, pooled ${times(r.ratio.pooled)}; ${r.toppedUp} jobs topped up to keep ${r.backlog} due`,
        `  ${NAME[e]} CPUs used, jobs (${what}), all windows pooled: ${jobs(r.pooled.one)}; ${jobs(r.pooled.four)}`,
      ]
    }
    const byRound = (w: 'blobs' | 'manifests') => c.push.rounds.map((r) => `${perSecond(r.one[w].perSecond)} → ${perSecond(r.two[w].perSecond)} (${times(r.two[w].perSecond / r.one[w].perSecond)})`).join(', ')
    notes.push(
      `  ${NAME[e]} CPUs used, blobs: ${push('one', 'blobs')}; ${push('two', 'blobs')}; by round, 1 → 2 origins: ${byRound('blobs')}`,
      `  ${NAME[e]} CPUs used, manifests: ${push('one', 'manifests')}; ${push('two', 'manifests')}; by round: ${byRound('manifests')}`,
      ...jobRounds('no copy', c.jobs.plain),
    )
    if (c.jobs.copy) notes.push(...jobRounds('a 4 KiB copy each', c.jobs.copy))
  }
  return notes
}
