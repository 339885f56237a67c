import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import { appendChange, changesSince } from './changes.ts'

let t: TestDatabase
beforeEach(async () => { t = await openTestDatabase('meridian-changes-order-') })
afterEach(async () => { await t.close() })

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

describe('the change log under concurrent commits', () => {
  it('never shows a later seq before an earlier one commits (a feed reader would skip the earlier row)', async () => {
    // The first transaction has its change flushed (seq taken: the flush is the hook before this
    // one) and then lingers before COMMIT.
    let flushed!: () => void
    const lingering = new Promise<void>((r) => { flushed = r })
    const first = t.db.transaction(async (tx) => {
      await appendChange(tx, 'tag.set', 'r/first', {})
      tx.$beforeCommit.push(() => { flushed(); return sleep(600) })
    })
    await lingering
    const second = t.db.transaction(async (tx) => { await appendChange(tx, 'tag.set', 'r/second', {}) })
    // Had the second taken its seq and committed meanwhile, a reader here would see it alone and
    // move its cursor past the first's seq for ever. (On SQLite the read waits for the open
    // transaction; on PostgreSQL it sees what has committed: nothing yet.)
    await sleep(250)
    const seen = (await changesSince(t.db, 0)).map((c) => c.repository).join(',')
    expect(['', 'r/first', 'r/first,r/second']).toContain(seen)
    await Promise.all([first, second])
    const got = await changesSince(t.db, 0)
    expect(got.map((c) => c.repository)).toEqual(['r/first', 'r/second'])
  })
})
