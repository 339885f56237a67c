// The origin as a child process (`node --import tsx origin/main.ts`), the way it runs in
// production: its own event loop, so the latency a test measures is the origin's and not the test
// runner's, and its own memory, sampled from /proc while a test runs.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readProcessMemory } from '../../scripts/bench/origin-process.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface LogLine {
  level: string
  msg: string
  [field: string]: unknown
}

export interface OriginProcess {
  url: string
  pid: number
  /** Every JSON log line the origin wrote to stderr so far. */
  logs: LogLine[]
  /** Resident set size now, in bytes. */
  rss(): number
  /** Whether the process is still running. */
  alive(): boolean
  /** SIGTERM, then SIGKILL after 5 s; removes the data directory. */
  stop(): Promise<void>
}

export async function startOriginProcess(env: Record<string, string> = {}): Promise<OriginProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meridian-fault-'))
  const DATABASE_URL = await testDatabaseUrl(dataDir)
  const child = spawn(process.execPath, ['--import', 'tsx', 'origin/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, MERIDIAN_DATA_DIR: dataDir, DATABASE_URL, MERIDIAN_ORIGIN_PORT: '0', MERIDIAN_ADMIN_TOKEN: '', MERIDIAN_AUTH: 'off', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const logs: LogLine[] = []
  let exited = false
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve() }))
  // Needs the info line 'origin listening': MERIDIAN_LOG_LEVEL must stay at info or below.
  const listening = new Promise<string>((resolve, reject) => {
    let pending = ''
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (text: string) => {
      pending += text
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        let entry: LogLine
        try {
          entry = JSON.parse(line) as LogLine
        } catch {
          continue
        }
        logs.push(entry)
        if (entry.msg === 'origin listening') resolve(String(entry.url))
      }
    })
    void exit.then(() => reject(new Error(`origin exited before listening: ${JSON.stringify(logs.slice(-3))}`)))
    setTimeout(() => reject(new Error('origin did not listen within 30 s')), 30_000).unref()
  })
  let url: string
  try {
    url = await listening
  } catch (err) {
    // Never leave a child behind when the start fails.
    await stopChild(child, exit, exited)
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
  const pid = child.pid!
  return {
    url, pid, logs,
    rss: () => rssOf(pid),
    alive: () => !exited,
    async stop() {
      await stopChild(child, exit, exited)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

async function stopChild(child: ChildProcess, exit: Promise<void>, exited: boolean): Promise<void> {
  if (exited) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exit
  clearTimeout(timer)
}

/** Resident set size of `pid` in bytes (/proc, as the bench and the soak read it); 0 once it has exited. */
export function rssOf(pid: number): number {
  try {
    return readProcessMemory(pid).rssMiB * 1024 * 1024
  } catch {
    return 0
  }
}

/** Samples `read()` every `everyMs` until stopped; reports the first, highest and last sample. */
export function sampleEvery(read: () => number, everyMs: number) {
  const samples: number[] = [read()]
  const timer = setInterval(() => samples.push(read()), everyMs)
  return {
    samples,
    stop() {
      clearInterval(timer)
      samples.push(read())
      return { first: samples[0]!, max: Math.max(...samples), last: samples[samples.length - 1]! }
    },
  }
}
