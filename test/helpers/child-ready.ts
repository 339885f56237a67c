// Waiting for a server the tests start as a child process (azurite, Swift) to say it is ready: the
// value `ready` finds in what it printed, or an error with that output when it exits first, fails
// to spawn or takes too long. Either way nothing is left behind: on failure the child is killed
// and `cleanUp` (its temp dir) runs before the error is thrown.

import type { ChildProcess } from 'node:child_process'
import type { Readable } from 'node:stream'

export interface ReadyOptions<T> {
  name: string
  timeoutMs: number
  /** The child's streams to read (stdout, and stderr for servers that log there). */
  streams: Readable[]
  /** What readiness looks like in everything printed so far; null: not yet. */
  ready: (output: string) => T | null
  /** The output to show when it fails (default: what the streams printed). */
  diagnostics?: () => string
  /** Resolves once the child has exited. */
  exited: Promise<void>
  cleanUp: () => Promise<void>
}

export async function waitForReady<T>(child: ChildProcess, options: ReadyOptions<T>): Promise<T> {
  let output = ''
  const shown = () => options.diagnostics?.() ?? output
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${options.name} did not start within ${options.timeoutMs} ms:\n${shown()}`)), options.timeoutMs)
      const onData = (data: Buffer) => {
        output += data.toString()
        const value = options.ready(output)
        if (value !== null) {
          clearTimeout(timer)
          for (const stream of options.streams) stream.off('data', onData)
          resolve(value)
        }
      }
      for (const stream of options.streams) stream.on('data', onData)
      child.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`${options.name} exited (${code ?? signal}) before it was ready:\n${shown()}`))
      })
    })
  } catch (err) {
    child.kill('SIGKILL')
    await options.exited
    await options.cleanUp()
    throw err
  }
}
