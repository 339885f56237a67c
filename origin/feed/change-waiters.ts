// Long-poll support: feed requests waiting for a change after their position. One shared check
// (a single max(seq) read) wakes every waiter it satisfies, run when this process commits
// (notify) and every `pollMs` while anyone waits, for commits made by another process (a
// replication worker started with `npm run worker`). One read at a time: a notify that arrives
// while one is in flight (it may have missed the new change) runs another right after it.

import { ociError } from '../../oci/errors.ts'

export interface ChangeWaiters {
  /**
   * Resolves once the log's head is past `after`, after `ms`, or when `signal` aborts, whichever
   * is first. Throws TOOMANYREQUESTS when `max` requests already wait.
   */
  wait(after: number, ms: number, signal?: AbortSignal): Promise<void>
  /** Something was appended: check now. */
  notify(): void
  /** Releases every waiter (server shutdown: long polls must not hold it up). */
  close(): void
  readonly waiting: number
}

export function createChangeWaiters(options: { readHead: () => Promise<number>; pollMs?: number; max?: number; onError?: (err: unknown) => void }): ChangeWaiters {
  // A failed read wakes no one: the next poll (or notify) reads again.
  const { readHead, pollMs = 200, max = 512, onError = () => undefined } = options
  const waiters = new Set<{ after: number; done: () => void }>()
  let timer: ReturnType<typeof setInterval> | null = null
  let reading = false
  let again = false

  function check(): void {
    if (waiters.size === 0) return
    if (reading) { again = true; return }
    reading = true
    readHead()
      .then((head) => { for (const w of waiters) if (head > w.after) w.done() }, onError)
      .finally(() => {
        reading = false
        if (again) { again = false; check() }
      })
  }

  return {
    wait(after, ms, signal) {
      if (waiters.size >= max) throw ociError('TOOMANYREQUESTS', { message: 'too many feed requests waiting', headers: { 'Retry-After': '1' } })
      return new Promise<void>((resolve) => {
        const waiter = {
          after,
          done() {
            clearTimeout(timeout)
            signal?.removeEventListener('abort', waiter.done)
            waiters.delete(waiter)
            if (waiters.size === 0 && timer) { clearInterval(timer); timer = null }
            resolve()
          },
        }
        const timeout = setTimeout(waiter.done, ms)
        signal?.addEventListener('abort', waiter.done)
        waiters.add(waiter)
        timer ??= setInterval(check, pollMs)
        if (signal?.aborted) waiter.done()
      })
    },
    notify: check,
    close() {
      for (const w of waiters) w.done()
    },
    get waiting() { return waiters.size },
  }
}
