// The origin and the replication worker as the separate processes operators run (the bundles of
// scripts/build.mjs), on one data directory, so a test can SIGKILL either at any instant and start
// it again on what the dead one left.

import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const ROOT = join(new URL('.', import.meta.url).pathname, '..', '..')

/**
 * Builds dist/origin.mjs and dist/worker.mjs into a directory of their own, inside the repository
 * so that their bare imports resolve to its node_modules. Returns it; the caller removes it.
 */
export async function buildBundles(): Promise<string> {
  const outdir = join(ROOT, 'node_modules', '.cache', `meridian-faults-${process.pid}`)
  await run(process.execPath, ['scripts/build.mjs', outdir], { cwd: ROOT, timeout: 60_000 })
  return outdir
}

export interface FsLocationSpec { id: string; lat: number; lon: number }

/**
 * A Meridian file for `dataDir`: fs locations (pushes go to the first), the worker out of process,
 * and replication retries fast enough that a killed worker's leases expire within the test.
 */
export function writeRegistryConfig(dataDir: string, locations: FsLocationSpec[]): string {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, 'meridian.yaml')
  const blocks = locations.map(({ id, lat, lon }) =>
    `  ${id}:\n    driver: fs\n    params: { root: ${JSON.stringify(join(dataDir, 'locations', id))} }\n    lat: ${lat}\n    lon: ${lon}\n    replicateByDefault: true\n`)
  writeFileSync(file, `locations:\n${blocks.join('')}preference: [${locations.map((l) => l.id).join(', ')}]\n` +
    'replication:\n  workerInProcess: false\n  leaseSeconds: 2\n  backoffBaseMs: 50\n  backoffMaxMs: 500\n  maxAttempts: 1000\n  reconcileIntervalSeconds: 1\n')
  return file
}

/**
 * The environment every process (and script) of the test's registry reads its config from, all on
 * the one database `databaseUrl` (test/helpers/test-database.ts).
 */
export function registryEnv(dataDir: string, configFile: string, port: number, databaseUrl: string): Record<string, string> {
  return {
    MERIDIAN_CONFIG: configFile,
    MERIDIAN_DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    MERIDIAN_ORIGIN_HOST: '127.0.0.1',
    MERIDIAN_ORIGIN_PORT: String(port),
    MERIDIAN_LOG_LEVEL: 'warn',
    // Crashes and faults, not access control: the pushes carry no tokens.
    MERIDIAN_AUTH: 'off',
  }
}

/** One supervised process: started, SIGKILLed, started again; its stderr tail kept for failures. */
export class RegistryProcess {
  private child: ChildProcess | null = null
  private log = ''
  starts = 0
  private readonly script: string
  private readonly env: Record<string, string>
  private readonly ready: (child: ChildProcess) => Promise<void>

  constructor(script: string, env: Record<string, string>, ready: (child: ChildProcess) => Promise<void>) {
    this.script = script
    this.env = env
    this.ready = ready
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null
  }

  stderr(): string {
    return this.log
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [this.script], { cwd: ROOT, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    this.starts++
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { this.log = (this.log + s).slice(-16 * 1024) })
    const exited = once(child, 'exit').then(([code, signal]) => { throw new Error(`${this.script} exited (${code ?? signal}) before it was ready:\n${this.log}`) })
    exited.catch(() => {})
    await Promise.race([this.ready(child), exited])
  }

  /** SIGKILL: no handler runs, no file is closed, no transaction finishes. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL')
  }

  /** SIGINT (a clean stop), SIGKILL if it takes over 10 s. */
  async stop(): Promise<void> {
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000)
    await this.signal('SIGINT')
    clearTimeout(timer)
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child
    if (!child || !this.running) return
    const exited = once(child, 'exit')
    child.kill(signal)
    await exited
  }
}

/** The origin bundle; ready once GET /v2/ answers. */
export function originProcess(bundles: string, env: Record<string, string>): RegistryProcess {
  const url = `http://127.0.0.1:${env.MERIDIAN_ORIGIN_PORT}/v2/`
  return new RegistryProcess(join(bundles, 'origin.mjs'), env, async () => {
    for (;;) {
      const res = await fetch(url).catch(() => null)
      if (res) { await res.body?.cancel(); return }
      await new Promise((r) => setTimeout(r, 25))
    }
  })
}

/** The worker bundle; ready once it prints its ready line. */
export function workerProcess(bundles: string, env: Record<string, string>): RegistryProcess {
  return new RegistryProcess(join(bundles, 'worker.mjs'), env, (child) => new Promise<void>((resolve) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s
      if (out.includes('replication worker ready')) resolve()
    })
  }))
}

export function removeBundles(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}
