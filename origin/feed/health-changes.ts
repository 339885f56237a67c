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

export function createHealthRecorder(options: { db: Db; onAppend?: () => void; minIntervalMs?: number; now?: () => number }): HealthRecorder {
  const { db, onAppend = () => {}, minIntervalMs = 5000, now = Date.now } = options
  const sent = new Map<string, { readable: boolean; at: number }>()
  const current = new Map<string, boolean>()
  const pending = new Map<string, ReturnType<typeof setTimeout>>()

  function send(location: string) {
    pending.delete(location)
    const readable = current.get(location)!
    const last = sent.get(location)
    if (last?.readable === readable) return
    sent.set(location, { readable, at: now() })
    appendChange(db, 'location.health', null, { location, readable })
    onAppend()
  }

  return {
    record(location, readable) {
      current.set(location, readable)
      if (pending.has(location)) return
      const wait = (sent.get(location)?.at ?? -Infinity) + minIntervalMs - now()
      if (wait <= 0) return send(location)
      const timer = setTimeout(() => send(location), wait)
      // A pending health hint must not keep a stopping process alive.
      timer.unref?.()
      pending.set(location, timer)
    },
    close() {
      for (const t of pending.values()) clearTimeout(t)
      pending.clear()
    },
  }
}
