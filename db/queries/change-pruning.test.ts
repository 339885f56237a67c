import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import { appendChange, changesSince } from './changes.ts'
import { changesPrunedThrough, pruneChanges, pruneChangesBatch } from './change-pruning.ts'

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 0, 1)

let t: TestDatabase
beforeEach(async () => { t = await openTestDatabase('meridian-prune-') })
afterEach(async () => { await t.close() })

/** Appends one change per `at` (hours after T0); returns their seqs. */
async function appendAt(hours: number[]): Promise<number[]> {
  for (const [i, h] of hours.entries()) await appendChange(t.db, 'tag.set', 'r', { tag: `t${i}` }, T0 + h * HOUR)
  return (await changesSince(t.db, 0, 1000)).map((c) => c.seq)
}

describe('pruning the change log', () => {
  it('removes the changes older than the cut-off, oldest first, and records the highest seq removed', async () => {
    const seqs = await appendAt([0, 1, 2, 3, 4])
    expect(await changesPrunedThrough(t.db)).toBe(0)
    const step = await pruneChangesBatch(t.db, T0 + 2.5 * HOUR, 100)
    expect(step).toEqual({ removed: 3, through: seqs[2], more: false })
    expect((await changesSince(t.db, 0)).map((c) => c.seq)).toEqual(seqs.slice(3))
    expect(await changesPrunedThrough(t.db)).toBe(seqs[2])
    // Again: nothing more is old enough, and the watermark stays.
    expect(await pruneChangesBatch(t.db, T0 + 2.5 * HOUR, 100)).toEqual({ removed: 0, through: seqs[2], more: false })
  })

  it('never removes the newest change, so the head stays where it was', async () => {
    const seqs = await appendAt([0, 1, 2])
    const r = await pruneChanges(t.db, { retainMs: HOUR, now: T0 + 100 * HOUR })
    expect(r).toEqual({ removed: 2, through: seqs[1] })
    expect((await changesSince(t.db, 0)).map((c) => c.seq)).toEqual([seqs[2]])
    // Appends go on above the head: seqs are never reused once rows are gone.
    const [next] = (await appendAt([200])).slice(-1)
    expect(next).toBeGreaterThan(seqs[2]!)
  })

  it('stops at the first change inside the retention: an older `at` after it does not go first', async () => {
    const seqs = await appendAt([0, 5, 0, 6])
    expect(await pruneChangesBatch(t.db, T0 + HOUR, 100)).toEqual({ removed: 1, through: seqs[0], more: false })
    expect((await changesSince(t.db, 0)).map((c) => c.seq)).toEqual(seqs.slice(1))
  })

  it('works in batches until the retention is reached', async () => {
    const seqs = await appendAt([0, 0, 0, 0, 0, 0, 0, 9])
    expect(await pruneChangesBatch(t.db, T0 + HOUR, 3)).toEqual({ removed: 3, through: seqs[2], more: true })
    expect(await pruneChanges(t.db, { retainMs: HOUR, now: T0 + 2 * HOUR, batch: 3 })).toEqual({ removed: 4, through: seqs[6] })
    expect(await changesPrunedThrough(t.db)).toBe(seqs[6])
    expect((await changesSince(t.db, 0)).map((c) => c.seq)).toEqual([seqs[7]])
  })

  it('stops between batches when its signal is aborted', async () => {
    await appendAt([0, 0, 0, 0, 0, 0, 0, 9])
    const stop = new AbortController()
    stop.abort()
    expect((await pruneChanges(t.db, { retainMs: HOUR, now: T0 + 2 * HOUR, batch: 2, signal: stop.signal })).removed).toBe(2)
  })
})
