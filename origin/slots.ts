// A counting semaphore for work whose memory must stay bounded however many requests ask for it at
// once (manifest PUTs: each buffers up to 4 MiB and the values parsed from it). Waiters queue in
// arrival order; one that waits too long is answered 503 UNAVAILABLE with Retry-After rather than
// held, since docker retries 5xx but treats TOOMANYREQUESTS as final.

import { ociError } from '../oci/errors.ts'

export interface Slots {
  /** Resolves with a release function once a slot is free; rejects with UNAVAILABLE after the wait limit. */
  acquire(): Promise<() => void>
  readonly inUse: number
  readonly waiting: number
}

export interface SlotOptions {
  /** How long a request may queue for a slot before it is refused. */
  maxWaitMs?: number
}

export function createSlots(permits: number, { maxWaitMs = 10_000 }: SlotOptions = {}): Slots {
  let inUse = 0
  const queue: Array<() => void> = []
  const release = () => {
    const next = queue.shift()
    if (next) next()
    else inUse--
  }
  // Each release runs once, however often a caller calls it.
  const releaser = () => {
    let released = false
    return () => {
      if (released) return
      released = true
      release()
    }
  }
  return {
    get inUse() { return inUse },
    get waiting() { return queue.length },
    acquire() {
      if (inUse < permits) {
        inUse++
        return Promise.resolve(releaser())
      }
      return new Promise((resolve, reject) => {
        // The slot passes straight from the releasing holder to this waiter (inUse unchanged).
        const grant = () => {
          clearTimeout(timer)
          resolve(releaser())
        }
        const timer = setTimeout(() => {
          queue.splice(queue.indexOf(grant), 1)
          reject(ociError('UNAVAILABLE', { message: 'the registry is busy; retry shortly', headers: { 'Retry-After': '1' } }))
        }, maxWaitMs)
        queue.push(grant)
      })
    },
  }
}
