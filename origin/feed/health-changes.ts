// location.health changes: the origin's view of whether a location can be read, appended to the
// change log when it flips. A flapping location must not flood the feed: at most one change per
// location per `minIntervalMs`; a flip inside that window is sent at its end if the state still
// differs from the last one sent, so the feed always ends on the current state.

import type { Db } from '../../db/client.ts'
import { appendChange } from '../../db/queries/changes.ts'

export interface HealthRecorder {
  /** The location's readability flipped (LocationSet's onHealthChange). */
  record(location: string, readable: boolean): void
  close(): void
}

/** When a pending flip goes out; tests pass their own to fire it without waiting on a real clock. */
export interface Timers {
  set(fn: () => void, ms: number): unknown
  clear(timer: unknown): void
}

const realTimers: Timers = {
  set(fn, ms) {
    const timer = setTimeout(fn, ms)
    // A pending health hint must not keep a stopping process alive.
    timer.unref?.()
    return timer
  },
  clear: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
}

export function createHealthRecorder(options: { db: Db; onAppend?: () => void; onError?: (err: unknown) => void; minIntervalMs?: number; now?: () => number; timers?: Timers }): HealthRecorder {
  const { db, onAppend = () => {}, onError = () => {}, minIntervalMs = 5000, now = Date.now, timers = realTimers } = options
  // What the log last says per location (null: a failed append, the log's state unknown here).
  const sent = new Map<string, { readable: boolean | null; at: number }>()
  const current = new Map<string, boolean>()
  const pending = new Map<string, unknown>()
  let closed = false
  // Appends go out one at a time, in the order they were sent: on a pooled database two
  // concurrent appends may commit in either order, and the log must read in the order flips were seen.
  let appending: Promise<void> = Promise.resolve()

  function send(location: string) {
    pending.delete(location)
    const readable = current.get(location)!
    if (sent.get(location)?.readable === readable) return
    sent.set(location, { readable, at: now() })
    appending = appending.then(() => appendChange(db, 'location.health', null, { location, readable })).then(onAppend, (err: unknown) => {
      onError(err)
      // Not in the log: try again after the interval, with whatever the state is by then.
      if (sent.get(location)?.readable === readable) sent.set(location, { readable: null, at: now() })
      arm(location)
    }).catch(onError)
  }

  function arm(location: string) {
    if (closed || pending.has(location)) return
    const wait = (sent.get(location)?.at ?? -Infinity) + minIntervalMs - now()
    if (wait <= 0) return send(location)
    pending.set(location, timers.set(() => send(location), wait))
  }

  return {
    record(location, readable) {
      current.set(location, readable)
      arm(location)
    },
    close() {
      closed = true
      for (const t of pending.values()) timers.clear(t)
      pending.clear()
    },
  }
}
