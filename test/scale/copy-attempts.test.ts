// The log reading behind the chaos test's "no copy ran twice at once": it must see an overlap, a
// killed worker's open attempt, a second copy and a crowded worker when the logs show them.

import { describe, expect, it } from 'vitest'
import { copyAttempts, maxInFlight, overlappingAttempts, repeatedCopies } from './copy-attempts.ts'
import type { Incarnation } from './processes.ts'

const D = 'sha256:' + 'a'.repeat(64)
const line = (msg: string, jobId: number, owner: string, at: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ time: new Date(at).toISOString(), level: 'info', msg, jobId, digest: D, location: 'loc-2', owner, at, ...extra })
const started = (owner: string, at: number, jobId = 1) => line('replication attempt started', jobId, owner, at)
const ended = (owner: string, at: number, outcome = 'done', source = 'loc-1', jobId = 1) => line('replication attempt ended', jobId, owner, at, { outcome, source })
const worker = (name: string, ...incarnations: Array<Omit<Incarnation, 'n'>>) => ({ name, incarnations: incarnations.map((inc, i) => ({ n: i + 1, ...inc })) })

describe('copy attempts read from worker logs', () => {
  it('finds no overlap when a killed worker\'s attempt ends before another worker claims the job', () => {
    const attempts = copyAttempts([
      worker('w1', { lines: [started('o1', 100)], killedAt: 150 }),
      worker('w2', { lines: ['not json', started('o2', 2200), ended('o2', 2300)], killedAt: null }),
    ])
    expect(attempts.map((a) => [a.owner, a.start, a.end, a.outcome])).toEqual([['o1', 100, 150, 'killed'], ['o2', 2200, 2300, 'done']])
    expect(overlappingAttempts(attempts)).toEqual([])
    expect(repeatedCopies(attempts)).toEqual([])
  })

  it('reports two workers copying one (blob, location) at once, and a blob copied twice', () => {
    const attempts = copyAttempts([
      worker('w1', { lines: [started('o1', 100), ended('o1', 400)], killedAt: null }),
      worker('w2', { lines: [started('o2', 300), ended('o2', 500)], killedAt: null }),
    ])
    expect(overlappingAttempts(attempts)).toHaveLength(1)
    expect(overlappingAttempts(attempts)[0]).toContain('w1#1 (o1, job 1) 100..400 done overlaps w2#1 (o2, job 1) 300..500 done')
    expect(repeatedCopies(attempts)).toHaveLength(1)
  })

  it('does not count a job finished without copying (the bytes were already there) as a second copy', () => {
    const attempts = copyAttempts([worker('w1', { lines: [started('o1', 100), ended('o1', 200), started('o1', 300), ended('o1', 310, 'done', 'loc-2')], killedAt: null })])
    expect(repeatedCopies(attempts)).toEqual([])
  })

  it('refuses an attempt that never ended in a worker nobody killed', () => {
    expect(() => copyAttempts([worker('w1', { lines: [started('o1', 100)], killedAt: null })])).toThrow(/never ended/)
  })

  it('counts the attempts each incarnation had in flight at once', () => {
    const lines = [started('o1', 100, 1), started('o1', 110, 2), started('o1', 120, 3), ended('o1', 130, 'done', 'loc-1', 1), started('o1', 130, 4), ended('o1', 200, 'retry', undefined, 2)]
    const attempts = copyAttempts([worker('w1', { lines, killedAt: 250 })])
    expect(maxInFlight(attempts)).toEqual(new Map([['w1#1', 3]]))
  })
})
