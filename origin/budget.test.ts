import { describe, expect, it } from 'vitest'
import { createBudget } from './budget.ts'
import { isOciError } from '../oci/errors.ts'

const refusal = (p: Promise<unknown>) => p.then(() => null, (err: unknown) => (isOciError(err) ? { code: err.code, status: err.status, headers: err.headers } : err))

describe('createBudget', () => {
  it('grants growth at once while units are free, and counts what each reservation holds', async () => {
    const budget = createBudget(100)
    const a = budget.open()
    const b = budget.open()
    await a.grow(30)
    await a.grow(60)
    await a.grow(10) // already held: nothing changes
    await b.grow(40)
    expect({ a: a.held, b: b.held, inUse: budget.inUse, waiting: budget.waiting }).toEqual({ a: 60, b: 40, inUse: 100, waiting: 0 })
    a.release()
    a.release() // a second call is a no-op
    expect(budget.inUse).toBe(40)
  })

  it('serves waiters in arrival order: a small one does not overtake a large one', async () => {
    const budget = createBudget(100)
    const holder = budget.open()
    await holder.grow(90)
    const order: string[] = []
    const large = budget.open()
    const small = budget.open()
    const growing = [large.grow(50).then(() => order.push('large')), small.grow(5).then(() => order.push('small'))]
    await Promise.resolve()
    // 10 units are free, enough for `small`, but `large` came first.
    expect({ order, waiting: budget.waiting }).toEqual({ order: [], waiting: 2 })
    holder.release()
    await Promise.all(growing)
    expect({ order, inUse: budget.inUse }).toEqual({ order: ['large', 'small'], inUse: 55 })
  })

  it('refuses a waiter after maxWaitMs with 503 and Retry-After, and lets the one behind it in', async () => {
    const budget = createBudget(10, { maxWaitMs: 40 })
    const holder = budget.open()
    await holder.grow(6)
    const stuck = budget.open()
    await stuck.grow(2)
    const behind = budget.open()
    const refused = refusal(stuck.grow(10)) // needs 8 more, 2 are free: waits, then is refused
    const admitted = behind.grow(1) // would fit, but queues behind `stuck`
    await Promise.resolve()
    expect(budget.waiting).toBe(2)
    expect(await refused).toEqual({ code: 'UNAVAILABLE', status: 503, headers: { 'Retry-After': '1' } })
    await admitted
    // The refused one keeps what it held until released; nothing leaked.
    expect({ stuck: stuck.held, behind: behind.held, inUse: budget.inUse, waiting: budget.waiting }).toEqual({ stuck: 2, behind: 1, inUse: 9, waiting: 0 })
    stuck.release()
    holder.release()
    behind.release()
    expect(budget.inUse).toBe(0)
  })

  it('drops a pending grow when its reservation is released, and never grants it afterwards', async () => {
    const budget = createBudget(10, { maxWaitMs: 5_000 })
    const holder = budget.open()
    await holder.grow(10)
    const late = budget.open()
    const pending = refusal(late.grow(5))
    late.release()
    expect(await pending).toMatchObject({ code: 'UNAVAILABLE' })
    holder.release()
    expect({ inUse: budget.inUse, waiting: budget.waiting }).toEqual({ inUse: 0, waiting: 0 })
    expect(await refusal(late.grow(1))).toMatchObject({ code: 'UNAVAILABLE' })
    expect(budget.inUse).toBe(0)
  })

  it('refuses the youngest at once when every holder waits on the others, so the older ones finish', async () => {
    const budget = createBudget(10, { maxWaitMs: 5_000 })
    const [older, middle, younger] = [budget.open(), budget.open(), budget.open()]
    await older.grow(4)
    await middle.grow(3)
    await younger.grow(3)
    const started = Date.now()
    const olderGrows = older.grow(6)
    const middleGrows = middle.grow(5)
    // `younger` is still receiving (not waiting): it may yet free its units, so nobody is refused.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(budget.waiting).toBe(2)
    // Now it waits too: all three are stuck, and the youngest is refused without waiting 5 s.
    const youngerRefused = refusal(younger.grow(4))
    expect(await youngerRefused).toMatchObject({ code: 'UNAVAILABLE', status: 503 })
    younger.release()
    // Its units let the oldest go on; the middle one waits for the oldest to finish, not refused.
    await olderGrows
    expect({ older: older.held, waiting: budget.waiting }).toEqual({ older: 6, waiting: 1 })
    older.release()
    await middleGrows
    expect({ middle: middle.held, inUse: budget.inUse, waiting: budget.waiting }).toEqual({ middle: 5, inUse: 5, waiting: 0 })
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  it('refuses at once a reservation larger than the whole budget', async () => {
    const budget = createBudget(10, { maxWaitMs: 5_000 })
    const started = Date.now()
    expect(await refusal(budget.open().grow(11))).toMatchObject({ code: 'UNAVAILABLE' })
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  it('lets an older body read part way grow before a newer one that holds nothing, never refusing it', async () => {
    const budget = createBudget(10)
    const older = budget.open()
    await older.grow(8)
    const newer = budget.open()
    const newerGrow = newer.grow(5) // does not fit: waits
    await Promise.resolve()
    // The older one fits on its own (8 -> 10): it goes first, though it asked second.
    await older.grow(10)
    expect({ older: older.held, newer: newer.held, waiting: budget.waiting }).toEqual({ older: 10, newer: 0, waiting: 1 })
    older.release()
    await newerGrow
    expect(newer.held).toBe(5)
  })
})
