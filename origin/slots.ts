// A counting semaphore: a budget (origin/budget.ts) whose every holder takes one unit. Manifest
// PUTs parse, validate and store a few at a time, since what JSON.parse builds is several times
// the bytes it reads; the bodies themselves are already in, under their own byte budget.

import { createBudget, type BudgetOptions } from './budget.ts'

export interface Slots {
  /** Resolves with a release function once a slot is free; rejects with UNAVAILABLE after the wait limit. */
  acquire(): Promise<() => void>
  readonly inUse: number
  readonly waiting: number
}

export function createSlots(permits: number, options: BudgetOptions = {}): Slots {
  const budget = createBudget(permits, options)
  return {
    get inUse() { return budget.inUse },
    get waiting() { return budget.waiting },
    async acquire() {
      const reservation = budget.open()
      try {
        await reservation.grow(1)
      } catch (err) {
        reservation.release()
        throw err
      }
      return () => reservation.release()
    },
  }
}
