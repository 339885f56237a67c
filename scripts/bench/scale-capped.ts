// The scale benchmark's capped rows (issue #11's scale-out goals, asked the way production asks
// them): each origin and each worker process is held to a fixed CPU budget (cpu-budget.ts), as
// if it ran on a machine of its own, so a second origin or three more workers bring their own
// CPU instead of splitting this machine's 2 cores. PostgreSQL and the benchmark's clients stay
// uncapped and shared, as a deployment's database and its users are.
//
// The budgets come from the uncapped CPU per operation, not from the goals: an origin used
// ~15 ms CPU per 1 KiB blob commit beside PostgreSQL's ~5.6 ms (the clients ~1.5 ms); a worker
// ~1.7 ms per claim-and-complete beside PostgreSQL's ~0.9 ms. With 2 origins at 0.3 CPU
// (≤ 40 commits/s) that is 0.6 + 0.22 + the clients ≈ 1 CPU; with 4 workers at 0.15 CPU
// (≤ 350 jobs/s) 0.6 + 0.32 ≈ 0.9 CPU: both leave the other core for noise, so the budgets, not
// the machine, bound the processes. The notes show the CPU each part really used.

import type { OriginProcess } from './origin-process.ts'
import type { JobRounds } from './scale-jobs-rounds.ts'
import { blobRate, manifestParts, manifestRate, type PushRates, type RateResult, type RateWindow } from './scale-push.ts'

/**
 * The capped rows' settings. CPU per process as above. The period is 10 ms, not the kernel's
 * 100 ms default: a process over its budget is stopped until the period ends, and one stopped
 * for 70 ms (0.3 CPU of 100 ms) while it holds a row lock or an open transaction would stall
 * the other origin in a way no machine of its own does; at 10 ms the stops are ≤ 9 ms, closer
 * to a slower CPU. At ~20 commits/s per origin an op takes ~clients / 20 s, so 16 clients (not
 * the uncapped rows' 32) keep each origin's queue full while an op (~0.8 s) stays well inside
 * the window; with 32 the 3 s window saw about one round of ops, mostly start-up. Each side gets
 * `rounds` windows of `seconds`, alternated (cappedPushRounds): one 4 s window per side varied
 * ±25% from run to run on this shared machine. The job rate likewise (scale-jobs-rounds.ts):
 * `jobRounds` rounds of a 1-worker and a 4-worker window over the same 4 processes. Each process
 * first runs at full speed (origins: `warmupSeconds` of pushes; workers: `warmupJobs` jobs) and
 * is capped after: V8 optimises code by how often it ran, and on PostgreSQL each pooled
 * connection prepares each statement and plans it afresh for its first 5 runs, so a process
 * capped cold spends its windows warming up (a worker: 10 ms CPU per job instead of 4; an origin
 * after 1 s of pushes: 15 ms per blob commit in its first capped window, 11 after ~300 commits).
 * What warm-up remains is put against the goal: each round's first window is the 2-origin one.
 */
export const CAPPED = {
  originCpus: 0.3, workerCpus: 0.15, periodMs: 10, clients: 16, warmupMs: 1000, seconds: 3, rounds: 2,
  warmupSeconds: { blobs: 8, manifests: 3 }, warmupJobs: 500, jobRounds: 4,
}

export interface CappedResults {
  settings: typeof CAPPED & { describe: string }
  /** `one`, `two`: every round's windows together; `rounds`: each round's, in the order run. */
  push: { one: PushRates; two: PushRates; rounds: Array<{ one: PushRates; two: PushRates }> }
  /** 1 vs 4 workers in rounds; `copy`: each job also copies a 4 KiB blob between two fs locations (--no-copies leaves it out). */
  jobs: { plain: JobRounds; copy?: JobRounds }
}

/** Windows of `seconds` each, as one: ops and CPU summed, p50 the mean, p99 the worst. */
export function mergeRates(list: RateResult[], seconds: number): RateResult {
  const count = list.reduce((s, r) => s + r.count, 0)
  const cpu = list.every((r) => r.cpuSeconds) ? list[0].cpuSeconds!.map((_, i) => list.reduce((s, r) => s + r.cpuSeconds![i], 0)) : null
  return {
    perSecond: count / (seconds * list.length), count, errors: list.reduce((s, r) => s + r.errors, 0), cpuSeconds: cpu,
    p50Ms: list.reduce((s, r) => s + r.p50Ms, 0) / list.length, p99Ms: Math.max(...list.map((r) => r.p99Ms)),
  }
}

type Side = 'one' | 'two'

/**
 * 1 vs 2 origins on the same two processes: both warmed at full speed, then capped, then
 * blob windows and manifest windows alternating between both and one origin alone, in the order
 * two-one, one-two, ... (ABBA), so a drift (the machine's other load, code still warming up)
 * falls on both sides alike, and a first window still warming counts against 2 origins. The lone origin is the first in even rounds and the second in odd
 * ones, so each process takes as much traffic as the other; the idle one only listens.
 */
export async function cappedPushRounds(origins: OriginProcess[], o: { label: string; confine(pid: number, name: string): void; databaseCpuSeconds(): number }): Promise<CappedResults['push']> {
  const c = CAPPED
  const all = origins.map((p) => p.url)
  const warm = { clients: c.clients, warmupMs: 0, blobBytes: 1024, label: `${o.label}-warm` }
  await blobRate(all, { ...warm, seconds: c.warmupSeconds.blobs })
  await manifestRate(all, await manifestParts(all, warm), { ...warm, seconds: c.warmupSeconds.manifests, salt: warm.label })
  origins.forEach((p, i) => o.confine(p.pid, `origin${i + 1}`))
  const sets = (k: Side, round: number): OriginProcess[] => (k === 'two' ? origins.slice(0, 2) : [origins[round % 2]])
  // CPU seconds so far of [the origins taking traffic, the PostgreSQL server, this process (the clients)].
  const window = (k: Side, round: number): RateWindow => ({
    clients: c.clients, seconds: c.seconds, warmupMs: c.warmupMs,
    sample: () => {
      const client = process.cpuUsage()
      return [sets(k, round).reduce((s, p) => s + p.cpuSeconds(), 0), o.databaseCpuSeconds(), (client.user + client.system) / 1e6]
    },
  })
  const order = (round: number): Side[] => (round % 2 === 0 ? ['two', 'one'] : ['one', 'two'])
  const urls = (k: Side, round: number) => sets(k, round).map((p) => p.url)
  const blobs = Array.from({ length: c.rounds }, () => ({}) as Record<Side, RateResult>)
  for (let r = 0; r < c.rounds; r++) {
    for (const k of order(r)) blobs[r][k] = await blobRate(urls(k, r), { ...window(k, r), blobBytes: 1024, label: `${o.label}-${k}-r${r}` })
  }
  const parts = await manifestParts(all, { clients: c.clients, blobBytes: 1024, label: `${o.label}-parts` })
  const manifests = Array.from({ length: c.rounds }, () => ({}) as Record<Side, RateResult>)
  for (let r = 0; r < c.rounds; r++) {
    for (const k of order(r)) manifests[r][k] = await manifestRate(urls(k, r), parts, { ...window(k, r), salt: `${o.label}-${k}-r${r}` })
  }
  const rounds = blobs.map((b, r) => ({ one: { blobs: b.one, manifests: manifests[r].one }, two: { blobs: b.two, manifests: manifests[r].two } }))
  const merged = (k: Side): PushRates => ({ blobs: mergeRates(blobs.map((b) => b[k]), c.seconds), manifests: mergeRates(manifests.map((m) => m[k]), c.seconds) })
  return { one: merged('one'), two: merged('two'), rounds }
}

