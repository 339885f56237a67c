import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import { appendChange, changesSince } from './changes.ts'

let t: TestDatabase
beforeEach(async () => { t = await openTestDatabase('meridian-changes-') })
afterEach(async () => { await t.close() })

describe('the change log', () => {
  it('gives a transaction\'s appends increasing seqs in append order, values intact', async () => {
    const payload = { text: 'quote " backslash \\ comma , brace } é 🙂', n: 2 ** 40 }
    await t.db.transaction(async (tx) => {
      await appendChange(tx, 'blob.linked', 'a/b', { digest: 'sha256:1' }, 1)
      await appendChange(tx, 'placement.present', null, payload, 2 ** 41)
      await appendChange(tx, 'tag.set', 'a/"c"', { tag: 't' }, 3)
    })
    const got = await changesSince(t.db, 0)
    expect(got.map((c) => [c.kind, c.repository, c.payload, c.at])).toEqual([
      ['blob.linked', 'a/b', { digest: 'sha256:1' }, 1],
      ['placement.present', null, payload, 2 ** 41],
      ['tag.set', 'a/"c"', { tag: 't' }, 3],
    ])
    expect(got[1]!.seq).toBeGreaterThan(got[0]!.seq)
    expect(got[2]!.seq).toBeGreaterThan(got[1]!.seq)
  })

  it('keeps nothing of a transaction that rolled back', async () => {
    await t.db.transaction(async (tx) => {
      await appendChange(tx, 'tag.set', 'a/b', { tag: 'x' })
      throw new Error('roll back')
    }).catch(() => {})
    expect(await changesSince(t.db, 0)).toEqual([])
  })

  it('never interleaves the appends of concurrent transactions', async () => {
    await Promise.all(Array.from({ length: 12 }, (_, i) => t.db.transaction(async (tx) => {
      await appendChange(tx, 'tag.set', `r/${i}`, { step: 1 })
      await appendChange(tx, 'tag.set', `r/${i}`, { step: 2 })
    })))
    const got = await changesSince(t.db, 0)
    expect(got).toHaveLength(24)
    for (let i = 0; i < got.length; i += 2) {
      expect([got[i]!.repository, got[i]!.payload.step]).toEqual([got[i + 1]!.repository, 1])
      expect(got[i + 1]!.payload.step).toBe(2)
    }
  })
})
