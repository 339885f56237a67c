// The origin as a separate process (`node --import tsx origin/main.ts`), so its memory can be read
// from /proc/<pid>/status without the benchmark client's own buffers mixed in.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { MiB } from './payload.ts'

export interface ProcessMemory {
  /** Resident set now, MiB. */
  rssMiB: number
  /** High-water mark of the resident set since the process started, MiB. */
  hwmMiB: number
}

export interface OriginProcess {
  pid: number
  url: string
  dataDir: string
  memory(): ProcessMemory
  /** CPU time (user + system, all threads) the process has used so far, seconds. */
  cpuSeconds(): number
  /** What the process wrote to stderr so far (its JSON log lines). */
  stderr(): string
  /** SIGINT (origin/main.ts closes cleanly, so --cpu-prof files get written), SIGKILL after 10 s. */
  stop(): Promise<void>
}

export function readProcessMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssMiB: (kib('VmRSS') * 1024) / MiB, hwmMiB: (kib('VmHWM') * 1024) / MiB }
}

/** utime + stime from /proc/<pid>/stat, in USER_HZ ticks (100 per second on Linux). */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * The origin with its built-in fs locations. The replication worker runs out of process (jobs are
 * still scheduled in the push transaction), so copies to the other locations do not run during
 * the next measurement; `worker: true` keeps it in process as `npm start` does. `entry` replaces
 * origin/main.ts (a variant to compare against), `env` adds variables.
 */
export async function spawnOrigin(options: { cwd: string; dataDir: string; nodeArgs?: string[]; timeoutMs?: number; worker?: boolean; entry?: string; env?: Record<string, string>; redirect?: boolean }): Promise<OriginProcess> {
  mkdirSync(options.dataDir, { recursive: true })
  const configFile = join(options.dataDir, 'bench-config.yaml')
  // `redirect`: the locations name the origin as their public URL, so edges redirect to them.
  const port = await freePort()
  writeFileSync(configFile, benchConfig(options.dataDir, options.worker ?? false, options.redirect ? `http://127.0.0.1:${port}` : null))
  return spawnServer({
    ...options,
    port,
    // The bundle `npm run origin` runs (scripts/build.mjs): what ships is what is measured.
    script: options.entry ?? 'dist/origin.mjs',
    env: (port) => ({
      // The read path as it was measured before access control; scripts/bench/auth.ts passes
      // MERIDIAN_AUTH=on to measure the cost of tokens beside it.
      MERIDIAN_AUTH: 'off',
      ...options.env,
      MERIDIAN_CONFIG: configFile,
      MERIDIAN_DATA_DIR: options.dataDir,
      MERIDIAN_ORIGIN_PORT: String(port),
      MERIDIAN_ORIGIN_HOST: '127.0.0.1',
      MERIDIAN_LOG_LEVEL: process.env.MERIDIAN_LOG_LEVEL ?? 'warn',
    }),
  })
}

/** The built-in locations (origin/config/defaults.ts), spelled out, plus the worker setting. */
function benchConfig(dataDir: string, worker: boolean, publicUrl: string | null): string {
  const params = (id: string) => `{ root: ${JSON.stringify(join(dataDir, 'locations', id))}${publicUrl ? `, publicUrl: ${JSON.stringify(publicUrl)}` : ''} }`
  const location = (id: string, lat: number, lon: number) =>
    `  ${id}:\n    driver: fs\n    params: ${params(id)}\n    lat: ${lat}\n    lon: ${lon}\n    replicateByDefault: true\n${publicUrl ? '    serve: redirect\n' : ''}`
  return `locations:\n${location('us-east', 39.0, -77.5)}${location('eu-west', 53.3, -6.3)}${location('ap-south', 19.1, 72.9)}` +
    `preference: [us-east, eu-west, ap-south]\nreplication:\n  workerInProcess: ${worker}\n`
}

/** The reference server (scripts/bench/ceiling-server.ts), started the same way as the origin. */
export async function spawnCeiling(options: { cwd: string; dataDir: string; timeoutMs?: number }): Promise<OriginProcess> {
  mkdirSync(options.dataDir, { recursive: true })
  return spawnServer({
    ...options,
    script: 'scripts/bench/ceiling-server.ts',
    env: (port) => ({ CEILING_DIR: options.dataDir, CEILING_PORT: String(port) }),
  })
}

/**
 * The answers of `answersFile` served from memory (scripts/bench/replay-server.ts): node:http, or
 * Bun.serve when `bun` is the path of a Bun binary.
 */
export async function spawnReplay(options: { cwd: string; dataDir: string; answersFile: string; bun?: string; timeoutMs?: number }): Promise<OriginProcess> {
  mkdirSync(options.dataDir, { recursive: true })
  return spawnServer({
    ...options,
    script: 'scripts/bench/replay-server.ts',
    runtime: options.bun,
    env: (port) => ({ REPLAY_ANSWERS: options.answersFile, REPLAY_PORT: String(port) }),
  })
}

/** `runtime`: another binary than this Node (Bun runs TypeScript itself: no loader). */
export async function spawnServer(options: { cwd: string; dataDir: string; script: string; env: (port: number) => Record<string, string>; nodeArgs?: string[]; timeoutMs?: number; runtime?: string; runtimeArgs?: string[]; port?: number }): Promise<OriginProcess> {
  const { cwd, dataDir, script, nodeArgs = [], timeoutMs = 30_000 } = options
  const port = options.port ?? await freePort()
  const loader = script.endsWith('.ts') && !options.runtime ? ['--import', 'tsx'] : []
  const child = spawn(options.runtime ?? process.execPath, [...(options.runtimeArgs ?? nodeArgs), ...loader, script], {
    cwd,
    env: { ...process.env, ...options.env(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { log = (log + s).slice(-64 * 1024) })
  const url = `http://127.0.0.1:${port}`
  await waitReady(child, url, timeoutMs, () => log)
  return {
    pid: child.pid!,
    url,
    dataDir,
    memory: () => readProcessMemory(child.pid!),
    cpuSeconds: () => readCpuSeconds(child.pid!),
    stderr: () => log,
    stop: () => stopChild(child),
  }
}

async function waitReady(child: ChildProcess, url: string, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`origin exited (${child.exitCode ?? child.signalCode}) before listening:\n${log()}`)
    }
    // Any HTTP answer to GET /v2/ (200, or 401 with auth) means the server is listening.
    const res = await fetch(`${url}/v2/`).catch(() => null)
    if (res) {
      await res.body?.cancel()
      return
    }
    if (Date.now() > deadline) {
      await stopChild(child)
      throw new Error(`origin not ready after ${timeoutMs} ms:\n${log()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Asks the process to stop (`signal`), kills it after 10 s, and waits for its exit. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

/** Samples a process's RSS every `everyMs` until stopped; returns the highest sample (MiB). */
export function sampleRss(pid: number, everyMs = 50): { stop(): { maxMiB: number; samples: number } } {
  let maxMiB = 0
  let samples = 0
  const take = () => {
    try {
      maxMiB = Math.max(maxMiB, readProcessMemory(pid).rssMiB)
      samples++
    } catch {
      // The process is gone; the caller will notice.
    }
  }
  take()
  const timer = setInterval(take, everyMs)
  return {
    stop() {
      clearInterval(timer)
      take()
      return { maxMiB, samples }
    },
  }
}
