// A housekeeping pass run at start (or `first`, a start-up pass of its own) and then every
// `intervalMs`, one at a time (a pass still running when the next is due is not doubled). stop() ends the timer, aborts the signal the pass was given
// (a long pass stops at its next batch) and waits for a running pass, so the database can close
// after it. A failed pass is logged; the next one runs as usual.

import { describeError, type Logger } from './log.ts'

type Pass = (signal: AbortSignal) => Promise<void>

export function runPeriodically(name: string, log: Logger, intervalMs: number, pass: Pass, first: Pass = pass): { stop(): Promise<void> } {
  const stopping = new AbortController()
  let running: Promise<void> | null = null
  const run = (which = pass) => {
    if (running) return
    running = which(stopping.signal)
      .catch((err: unknown) => log.error(`${name} failed`, { error: describeError(err) }))
      .finally(() => { running = null })
  }
  run(first)
  const timer = setInterval(() => run(), intervalMs)
  timer.unref?.()
  return {
    async stop() {
      clearInterval(timer)
      stopping.abort()
      await running
    },
  }
}
