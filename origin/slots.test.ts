import { describe, expect, it } from 'vitest'
import { createSlots } from './slots.ts'
import { isOciError } from '../oci/errors.ts'

describe('createSlots', () => {
  it('grants up to its permits at once and hands a released slot to the longest waiter', async () => {
    const slots = createSlots(2)
    const a = await slots.acquire()
    const b = await slots.acquire()
    const order: string[] = []
    const c = slots.acquire().then((release) => { order.push('c'); return release })
    const d = slots.acquire().then((release) => { order.push('d'); return release })
    await Promise.resolve()
    expect({ inUse: slots.inUse, waiting: slots.waiting }).toEqual({ inUse: 2, waiting: 2 })
    a()
    a() // a second call is a no-op, not a second slot
    const releaseC = await c
    expect(order).toEqual(['c'])
    expect({ inUse: slots.inUse, waiting: slots.waiting }).toEqual({ inUse: 2, waiting: 1 })
    b()
    ;(await d)()
    releaseC()
    expect({ inUse: slots.inUse, waiting: slots.waiting }).toEqual({ inUse: 0, waiting: 0 })
  })

  it('refuses a waiter after maxWaitMs with 503 UNAVAILABLE and Retry-After, and forgets it', async () => {
    const slots = createSlots(1, { maxWaitMs: 30 })
    const held = await slots.acquire()
    const err: unknown = await slots.acquire().catch((e: unknown) => e)
    expect(isOciError(err) && { code: err.code, status: err.status, retry: err.headers['Retry-After'] }).toEqual({ code: 'UNAVAILABLE', status: 503, retry: '1' })
    expect(slots.waiting).toBe(0)
    held()
    expect(slots.inUse).toBe(0)
    ;(await slots.acquire())()
  })
})
