// A weighted semaphore: a fixed capacity of units (bytes of buffered manifest bodies, or parse
// slots) that requests reserve and grow as they go. Waiters are served oldest reservation first,
// so a large reservation is never starved by a stream of small ones, and a body read part way is
// never overtaken by one that has not started; one that waits too long is
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
}

/** One open reservation, as the budget sees it. */
interface Holder {
  /** Opening order: lower is older. */
  id: number
  held: number
  /** Its grow, while it waits. */
  waiting: { total: number; grant(): void; refuse(err: unknown): void } | null
}

export function createBudget(capacity: number, { maxWaitMs = 10_000 }: BudgetOptions = {}): Budget {
  let inUse = 0
  let opened = 0
  /** Reservations holding units now (the only ones that can hold the budget up). */
  const holding = new Set<Holder>()
  /** Waiters, oldest reservation first. */
  const queue: Holder[] = []
  const enqueue = (holder: Holder) => {
    const at = queue.findIndex((h) => h.id > holder.id)
    queue.splice(at < 0 ? queue.length : at, 0, holder)
  }
  const hold = (holder: Holder, total: number) => {
    inUse += total - holder.held
    holder.held = total
    if (total > 0) holding.add(holder)
  }
  const busy = (detail: Record<string, unknown>) =>
    ociError('UNAVAILABLE', { message: 'the registry is busy; retry shortly', detail, headers: { 'Retry-After': '1' } })
  const dequeue = (holder: Holder) => {
    queue.splice(queue.indexOf(holder), 1)
    holder.waiting = null
  }
  const fits = (holder: Holder) => inUse + holder.waiting!.total - holder.held <= capacity
  // Strictly in order: the head waiter is granted first, and nobody overtakes it.
  const grantInOrder = () => {
    while (queue.length > 0 && fits(queue[0]!)) {
      const head = queue[0]!
      const { total, grant } = head.waiting!
      dequeue(head)
      hold(head, total)
      grant()
    }
  }
  /**
   * When every unit is held by reservations that are themselves waiting to grow (bodies read part
   * way when the budget ran out), none can finish and free anything: waiting out the timeout
   * would stall everyone for nothing. The youngest of them is refused at once instead, until the
   * head can go on: the older ones finish. A holder that is not waiting (a body still arriving,
   * or being parsed) will free its units by itself, so then the queue simply waits.
   */
  const settle = () => {
    for (;;) {
      grantInOrder()
      if (queue.length === 0) return
      const waitingHolders = queue.filter((h) => h.held > 0)
      // Stuck: everything holding units is itself waiting (every waiter holding units is in
      // `holding`, so equal sizes mean the same set).
      if (waitingHolders.length === 0 || waitingHolders.length !== holding.size) return
      const youngest = waitingHolders.reduce((a, b) => (b.id > a.id ? b : a))
      youngest.waiting!.refuse(busy({ reason: 'the budget is held by requests waiting on each other' }))
    }
  }
  return {
    capacity,
    get inUse() { return inUse },
    get waiting() { return queue.length },
    open() {
      const holder: Holder = { id: opened++, held: 0, waiting: null }
      let released = false
      return {
        get held() { return holder.held },
        grow(total) {
          if (released) return Promise.reject(busy({ released: true }))
          if (holder.waiting) return Promise.reject(new Error('a reservation grows one request at a time'))
          if (total <= holder.held) return Promise.resolve()
          if (total > capacity) return Promise.reject(busy({ requested: total, capacity }))
          if (queue.length === 0 && inUse + total - holder.held <= capacity) {
            hold(holder, total)
            return Promise.resolve()
          }
          return new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
              holder.waiting?.refuse(busy({ waitedMs: maxWaitMs }))
            }, maxWaitMs)
            holder.waiting = {
              total,
              grant: () => { clearTimeout(timer); resolve() },
              // Leaves the queue; what it held stays held until release(). The head may have
              // been what held the others back.
              refuse: (err) => { clearTimeout(timer); dequeue(holder); reject(err); settle() },
            }
            enqueue(holder)
            settle()
          })
        },
        release() {
          if (released) return
          released = true
          holding.delete(holder)
          inUse -= holder.held
          holder.held = 0
          if (holder.waiting) holder.waiting.refuse(busy({ released: true }))
          else settle()
        },
      }
    },
  }
}
