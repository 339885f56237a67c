// A weighted semaphore: a fixed capacity of units (bytes of buffered manifest bodies, or parse
// slots) that requests reserve and grow as they go. Waiters are served in arrival order, so a
// large reservation is never starved by a stream of small ones; one that waits too long is
// answered 503 UNAVAILABLE with Retry-After rather than held, since docker retries 5xx but treats
// TOOMANYREQUESTS as final.

import { ociError } from '../oci/errors.ts'

export interface Reservation {
  /** Units this reservation holds now. */
  readonly held: number
  /**
   * Resolves once the reservation holds at least `total` units (at once when it does already or
   * they are free); rejects with UNAVAILABLE after the budget's wait limit, or when the
   * reservation is released meanwhile. A total over the whole capacity is refused at once.
   */
  grow(total: number): Promise<void>
  /** Returns every unit held, and drops a pending grow. Idempotent. */
  release(): void
}

export interface Budget {
  readonly capacity: number
  /** Units reserved now. */
  readonly inUse: number
  /** Reservations waiting to grow. */
  readonly waiting: number
  /** A reservation holding nothing yet. */
  open(): Reservation
}

export interface BudgetOptions {
  /** How long a reservation may wait to grow before it is refused. */
  maxWaitMs?: number
  /** Extra headers on the refusal (e.g. `Connection: close` when a body is left unread). */
  refusalHeaders?: Record<string, string>
}

interface Waiter {
  reservation: { held: number }
  total: number
  grant(): void
}

export function createBudget(capacity: number, { maxWaitMs = 10_000, refusalHeaders = {} }: BudgetOptions = {}): Budget {
  let inUse = 0
  const queue: Waiter[] = []
  const busy = (detail: Record<string, unknown>) =>
    ociError('UNAVAILABLE', { message: 'the registry is busy; retry shortly', detail, headers: { 'Retry-After': '1', ...refusalHeaders } })
  // Strictly in order: the head waiter is granted first, and nobody overtakes it.
  const drain = () => {
    while (queue.length > 0) {
      const head = queue[0]!
      const needed = head.total - head.reservation.held
      if (inUse + needed > capacity) return
      queue.shift()
      inUse += needed
      head.reservation.held = head.total
      head.grant()
    }
  }
  return {
    capacity,
    get inUse() { return inUse },
    get waiting() { return queue.length },
    open() {
      const state = { held: 0 }
      let released = false
      let pending: { waiter: Waiter; reject: (err: unknown) => void; timer: ReturnType<typeof setTimeout> } | null = null
      const forget = () => {
        if (!pending) return
        clearTimeout(pending.timer)
        queue.splice(queue.indexOf(pending.waiter), 1)
        pending = null
      }
      return {
        get held() { return state.held },
        grow(total) {
          if (released) return Promise.reject(busy({ released: true }))
          if (pending) return Promise.reject(new Error('a reservation grows one request at a time'))
          if (total <= state.held) return Promise.resolve()
          if (total > capacity) return Promise.reject(busy({ requested: total, capacity }))
          const needed = total - state.held
          if (queue.length === 0 && inUse + needed <= capacity) {
            inUse += needed
            state.held = total
            return Promise.resolve()
          }
          return new Promise<void>((resolve, reject) => {
            const waiter: Waiter = { reservation: state, total, grant: () => { clearTimeout(timer); pending = null; resolve() } }
            const timer = setTimeout(() => {
              forget()
              reject(busy({ waitedMs: maxWaitMs }))
              // The head may have been what held the others back.
              drain()
            }, maxWaitMs)
            pending = { waiter, reject, timer }
            queue.push(waiter)
          })
        },
        release() {
          if (released) return
          released = true
          if (pending) {
            const { reject } = pending
            forget()
            reject(busy({ released: true }))
          }
          inUse -= state.held
          state.held = 0
          drain()
        },
      }
    },
  }
}

/**
 * The byte budget for manifest bodies being read. Its refusal closes the connection: the rest of
 * the body is left unread.
 */
export function createManifestBodyBudget(bytes: number, options: Pick<BudgetOptions, 'maxWaitMs'> = {}): Budget {
  return createBudget(bytes, { ...options, refusalHeaders: { Connection: 'close' } })
}
