// The replication workers' copy attempts, read back from their own log lines (origin/replication/
// worker.ts: 'replication attempt started' / 'replication attempt ended'), and the two properties
// issue #11 asks of them: no two attempts on one (blob, location) at once, and at most one copy
// that finished per (blob, location).

import type { ChaosProcess } from './processes.ts'

export interface CopyAttempt {
  jobId: number
  digest: string
  location: string
  owner: string
  /** Which process and incarnation logged it, e.g. "worker-1#3". */
  process: string
  start: number
  /** The logged end, or the instant the test killed the process during the attempt. */
  end: number
  /** done, retry, dead, lost, dropped, error; 'killed' when the process died during it. */
  outcome: string
  /** For 'done': where the bytes came from (the location itself: nothing was copied). */
  source?: string
}

interface Line { msg?: string; jobId?: number; digest?: string; location?: string; owner?: string; at?: number; outcome?: string; source?: string }

/** Every attempt every incarnation of `workers` logged. Throws on an unclosed attempt of a live process. */
export function copyAttempts(workers: Array<Pick<ChaosProcess, 'name' | 'incarnations'>>): CopyAttempt[] {
  const out: CopyAttempt[] = []
  for (const worker of workers) {
    for (const inc of worker.incarnations) {
      const open = new Map<number, CopyAttempt>()
      const where = `${worker.name}#${inc.n}`
      for (const text of inc.lines) {
        if (!text.startsWith('{')) continue
        const line = JSON.parse(text) as Line
        if (line.msg === 'replication attempt started') {
          open.set(line.jobId!, { jobId: line.jobId!, digest: line.digest!, location: line.location!, owner: line.owner!, process: where, start: line.at!, end: Infinity, outcome: 'open' })
        } else if (line.msg === 'replication attempt ended') {
          const a = open.get(line.jobId!)
          if (!a) throw new Error(`${where}: attempt on job ${line.jobId} ended without starting`)
          open.delete(line.jobId!)
          out.push({ ...a, end: line.at!, outcome: line.outcome!, ...(line.source ? { source: line.source } : {}) })
        }
      }
      for (const a of open.values()) {
        if (inc.killedAt === null) throw new Error(`${where}: attempt on job ${a.jobId} (${a.digest} to ${a.location}) never ended, and the process was not killed`)
        out.push({ ...a, end: inc.killedAt, outcome: 'killed' })
      }
    }
  }
  return out
}

const key = (a: CopyAttempt) => `${a.digest} ${a.location}`

function byTarget(attempts: CopyAttempt[]): Map<string, CopyAttempt[]> {
  const groups = new Map<string, CopyAttempt[]>()
  for (const a of attempts) groups.set(key(a), [...(groups.get(key(a)) ?? []), a])
  return groups
}

const describe = (a: CopyAttempt) => `${a.process} (${a.owner}, job ${a.jobId}) ${a.start}..${a.end} ${a.outcome}`

/** Pairs of attempts on one (digest, location) whose intervals intersect, described. */
export function overlappingAttempts(attempts: CopyAttempt[]): string[] {
  const problems: string[] = []
  for (const [target, group] of byTarget(attempts)) {
    const sorted = [...group].sort((a, b) => a.start - b.start)
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length && sorted[j]!.start < sorted[i]!.end; j++) {
        problems.push(`${target}: ${describe(sorted[i]!)} overlaps ${describe(sorted[j]!)}`)
      }
    }
  }
  return problems
}

/** (digest, location) pairs whose bytes more than one attempt copied and recorded as done. */
export function repeatedCopies(attempts: CopyAttempt[]): string[] {
  const problems: string[] = []
  for (const [target, group] of byTarget(attempts)) {
    const copied = group.filter((a) => a.outcome === 'done' && a.source !== a.location)
    if (copied.length > 1) problems.push(`${target}: copied ${copied.length} times: ${copied.map(describe).join('; ')}`)
  }
  return problems
}

/** The most attempts one process incarnation had in flight at once, per "worker-n#k". */
export function maxInFlight(attempts: CopyAttempt[]): Map<string, number> {
  const events = new Map<string, Array<[number, number]>>()
  for (const a of attempts) {
    const list = events.get(a.process) ?? []
    list.push([a.start, 1], [a.end, -1])
    events.set(a.process, list)
  }
  const out = new Map<string, number>()
  for (const [process, list] of events) {
    // Ends before starts at one instant: back-to-back attempts are not concurrent.
    list.sort((x, y) => x[0] - y[0] || x[1] - y[1])
    let now = 0, max = 0
    for (const [, d] of list) max = Math.max(max, now += d)
    out.set(process, max)
  }
  return out
}
