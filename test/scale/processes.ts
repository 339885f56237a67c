// Origins and workers as the separate processes operators run (the bundles of scripts/build.mjs),
// each keeping every line it logged across restarts and the instant the test SIGKILLed it, so a
// test can reconstruct, from the workers' own logs, who copied what and when.

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../faults/registry-processes.ts'

export interface Incarnation {
  /** 1 for the first start. */
  n: number
  lines: string[]
  /** Date.now() when the test saw the SIGKILLed process exit; null if it was not killed. */
  killedAt: number | null
}

/** One supervised process: started, SIGKILLed, started again, every incarnation's log kept. */
export class ChaosProcess {
  readonly name: string
  readonly incarnations: Incarnation[] = []
  private child: ChildProcess | null = null
  private readonly script: string
  private readonly env: Record<string, string>
  private readonly ready: (child: ChildProcess, name: string) => Promise<void>

  constructor(name: string, script: string, env: Record<string, string>, ready: (child: ChildProcess, name: string) => Promise<void>) {
    this.name = name
    this.script = script
    this.env = env
    this.ready = ready
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null
  }

  get kills(): number {
    return this.incarnations.filter((i) => i.killedAt !== null).length
  }

  /** The last lines of the current incarnation's stderr (for failure messages). */
  tail(lines = 30): string {
    return (this.incarnations.at(-1)?.lines ?? []).slice(-lines).join('\n')
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [this.script], { cwd: ROOT, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const incarnation: Incarnation = { n: this.incarnations.length + 1, lines: [], killedAt: null }
    this.incarnations.push(incarnation)
    this.child = child
    let partial = ''
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      const parts = (partial + s).split('\n')
      partial = parts.pop()!
      incarnation.lines.push(...parts)
    })
    const exited = once(child, 'exit').then(([code, signal]) => {
      throw new Error(`${this.name} exited (${code ?? signal}) before it was ready:\n${incarnation.lines.slice(-30).join('\n')}`)
    })
    exited.catch(() => {})
    await Promise.race([this.ready(child, this.name), exited])
  }

  /** Writes every incarnation's log to `<dir>/<name>.<n>.log` (to read after a failed run). */
  saveLogs(dir: string): void {
    mkdirSync(dir, { recursive: true })
    for (const inc of this.incarnations) {
      writeFileSync(join(dir, `${this.name}.${inc.n}.log`), inc.lines.join('\n') + (inc.killedAt ? `\n# SIGKILLed, gone at ${inc.killedAt}\n` : '\n'))
    }
  }

  /** SIGKILL: no handler runs, no copy finishes; the incarnation records when it was gone. */
  async kill(): Promise<void> {
    const child = this.child
    if (!child || !this.running) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
    this.incarnations.at(-1)!.killedAt = Date.now()
  }

  /** SIGINT (a clean stop: the worker finishes its copies in flight), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child
    if (!child || !this.running) return
    const exited = once(child, 'exit')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.kill('SIGINT')
    await exited
    clearTimeout(timer)
  }
}

/** The origin bundle; ready once GET /v2/ answers on its port. */
export function originProcess(name: string, bundles: string, env: Record<string, string>): ChaosProcess {
  const url = `http://127.0.0.1:${env.MERIDIAN_ORIGIN_PORT}/v2/`
  return new ChaosProcess(name, join(bundles, 'origin.mjs'), env, async () => {
    for (;;) {
      const res = await fetch(url).catch(() => null)
      if (res) { await res.body?.cancel(); return }
      await new Promise((r) => setTimeout(r, 25))
    }
  })
}

/** The worker bundle; ready once it prints its ready line on stdout. */
export function workerProcess(name: string, bundles: string, env: Record<string, string>): ChaosProcess {
  return new ChaosProcess(name, join(bundles, 'worker.mjs'), env, (child) => new Promise<void>((resolve) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s
      if (out.includes('replication worker ready')) resolve()
    })
  }))
}

export interface FsLocation { id: string; lat: number; lon: number }

/**
 * A Meridian file: fs locations each in its own directory (shared by every process), every one
 * replicated to by default; workers out of process; leases short enough that a killed worker's
 * jobs are claimed again within the test.
 */
export function writeChaosConfig(dataDir: string, locations: FsLocation[], leaseSeconds: number): string {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, 'meridian.yaml')
  const blocks = locations.map(({ id, lat, lon }) =>
    `  ${id}:\n    driver: fs\n    params: { root: ${JSON.stringify(join(dataDir, 'locations', id))} }\n    lat: ${lat}\n    lon: ${lon}\n    replicateByDefault: true\n`)
  writeFileSync(file, `locations:\n${blocks.join('')}preference: [${locations.map((l) => l.id).join(', ')}]\n` +
    `replication:\n  workerInProcess: false\n  leaseSeconds: ${leaseSeconds}\n  backoffBaseMs: 50\n  backoffMaxMs: 500\n  maxAttempts: 1000\n  reconcileIntervalSeconds: 1\n`)
  return file
}
