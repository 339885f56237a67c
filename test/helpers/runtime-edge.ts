// An edge in another runtime (Bun, Deno, workerd via `wrangler dev`), run as a child process the
// way an operator runs it (README "Running an edge"): the edge config written to a temp dir, the
// secrets in the environment (workerd: in vars), a free port on 127.0.0.1. settle() waits until
// the edge's status reports the origin's feed position; for workerd it first fires the Cron
// Trigger (`wrangler dev --test-scheduled`), which is what syncs a Worker's D1 index.
//
// The child gets its own process group, and close() kills the whole group (wrangler runs workerd
// as a grandchild), so no process outlives the test.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createDbReadModel } from '../../db/read-model.ts'
import { edgeConfigFor } from '../../origin/edge-config.ts'
import { loadOrCreateUrlSigningKey } from '../../origin/url-signing-key.ts'
import { freePort } from './edge.ts'
import type { TestOrigin } from './origin.ts'

export type EdgeRuntimeName = 'bun' | 'deno' | 'workerd'

export interface RuntimeEdge {
  url: string
  /** The last 8 KB the edge printed (for a failing test's message). */
  output(): string
  settle(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

const ROOT = resolve(import.meta.dirname, '../..')
const BIN = join(ROOT, 'node_modules/.bin')

/** `MERIDIAN_EDGE_RUNTIMES=0` skips these tests (CI runs them on one Node version only). */
export const runtimeTestsEnabled = process.env.MERIDIAN_EDGE_RUNTIMES !== '0'

export interface RuntimeEdgeOptions {
  /** The origin's edge credential (the origin must be started with MERIDIAN_EDGE_TOKEN). */
  token: string
  home?: { lat: number; lon: number }
  /** How long to wait for the first answer (wrangler bundles first). */
  startTimeoutMs?: number
  /** A name for the edge's region (two edges of one runtime side by side). */
  region?: string
  /** Changes the edge config document before the edge starts (e.g. a location's read credentials). */
  editConfig?: (config: Record<string, unknown>) => Record<string, unknown>
}

export async function startRuntimeEdge(runtime: EdgeRuntimeName, origin: TestOrigin, options: RuntimeEdgeOptions): Promise<RuntimeEdge> {
  const dir = mkdtempSync(join(tmpdir(), `meridian-${runtime}-edge-`))
  const described = edgeConfigFor(origin.config, {
    region: options.region ?? `test-${runtime}`, home: options.home ?? { lat: 50.1, lon: 8.7 }, originUrl: origin.url, feedWaitSeconds: 5,
  })
  const config = options.editConfig ? options.editConfig(described) : described
  const secrets = { MERIDIAN_EDGE_TOKEN: options.token, MERIDIAN_URL_SIGNING_KEY: await loadOrCreateUrlSigningKey(origin.dataDir) }
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const { command, args, env } = runtime === 'workerd'
    ? await wranglerDev(dir, port, { MERIDIAN_EDGE_CONFIG: config, ...secrets })
    : selfHosted(runtime, dir, port, config, secrets)
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-8000) }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))

  const close = async () => {
    await stopGroup(child, exited)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitForAnswer(`${url}/_meridian/edge/status`, exited, options.startTimeoutMs ?? 60_000, () => output)
  } catch (err) {
    await close()
    throw err
  }
  const originModel = createDbReadModel(origin.db)
  return {
    url,
    output: () => output,
    async settle(timeoutMs = 30_000) {
      const want = await originModel.position()
      const deadline = Date.now() + timeoutMs
      for (;;) {
        // workerd: each round is one Cron Trigger run (syncOnce), as Cloudflare would fire it.
        if (runtime === 'workerd') await checkOk(await fetch(`${url}/__scheduled?cron=*+*+*+*+*`), 'scheduled')
        const position = await statusPosition(url)
        if (position >= want) return
        if (Date.now() > deadline) throw new Error(`${runtime} edge index at ${position}, origin at ${want} after ${timeoutMs} ms\n${output}`)
        await new Promise((r) => setTimeout(r, runtime === 'workerd' ? 200 : 50))
      }
    },
    close,
  }
}

function selfHosted(runtime: 'bun' | 'deno', dir: string, port: number, config: Record<string, unknown>, secrets: Record<string, string>) {
  const configPath = join(dir, 'edge.json')
  writeFileSync(configPath, JSON.stringify(config))
  const env = {
    ...secrets, MERIDIAN_EDGE_CONFIG: configPath, MERIDIAN_EDGE_HOST: '127.0.0.1', MERIDIAN_EDGE_PORT: String(port),
    MERIDIAN_EDGE_INDEX: join(dir, 'index.sqlite'),
  }
  // The commands of README "Running an edge".
  return runtime === 'bun'
    ? { command: join(BIN, 'bun'), args: ['edge/entry/bun.ts'], env }
    : { command: join(BIN, 'deno'), args: ['run', '--allow-all', '--node-modules-dir=manual', 'edge/entry/deno.ts'], env }
}

/** `wrangler dev` on a generated config: the repo's Worker entry, a local D1 kept in `dir`. */
async function wranglerDev(dir: string, port: number, vars: Record<string, unknown>) {
  const configPath = join(dir, 'wrangler.json')
  writeFileSync(configPath, JSON.stringify({
    name: 'meridian-edge-test',
    main: join(ROOT, 'edge/entry/workers.ts'),
    compatibility_date: '2026-04-20',
    compatibility_flags: ['nodejs_compat'],
    d1_databases: [{ binding: 'INDEX', database_name: 'meridian-edge-index', database_id: '00000000-0000-0000-0000-000000000000' }],
    triggers: { crons: ['* * * * *'] },
    // As in wrangler.toml: the Node builds of the Azure SDK (its browser build cannot sign).
    alias: (await import('./wrangler-toml.ts')).wranglerAliases(), // wrangler.toml's own [alias] and [define]: what deploy uses
    define: (await import('./wrangler-toml.ts')).wranglerTable('define'),
    vars,
  }, null, 2))
  return {
    command: process.execPath,
    args: [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'dev', '--config', configPath, '--ip', '127.0.0.1', '--port', String(port),
      '--inspector-port', String(await freePort()), '--persist-to', join(dir, 'state'), '--test-scheduled', '--show-interactive-dev-session=false', '--log-level', 'warn'],
    env: {
      CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG_PATH: join(dir, 'logs'),
      XDG_CONFIG_HOME: join(dir, 'config'),
    },
  }
}

async function waitForAnswer(url: string, exited: Promise<number | null>, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let gone: number | null | undefined
  void exited.then((code) => { gone = code })
  for (;;) {
    if (gone !== undefined) throw new Error(`the edge exited (${gone}) before answering:\n${output()}`)
    // wrangler dev waits for a file change after a failed build instead of exiting.
    if (output().includes('Build failed')) throw new Error(`the Worker did not build:\n${output()}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await res.body?.cancel()
      if (res.ok) return
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`the edge did not answer ${url} within ${timeoutMs} ms:\n${output()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

async function statusPosition(url: string): Promise<number> {
  const res = await fetch(`${url}/_meridian/edge/status`)
  await checkOk(res, 'status', false)
  const body = await res.json() as { index: { position: number } | null }
  return body.index?.position ?? 0
}

async function checkOk(res: Response, what: string, drain = true): Promise<void> {
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${await res.text()}`)
  if (drain) await res.body?.cancel()
}

/** SIGTERM to the child's whole process group, SIGKILL if it lingers. */
async function stopGroup(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const signal = (s: NodeJS.Signals) => {
    try { process.kill(-child.pid!, s) } catch { /* already gone */ }
  }
  signal('SIGTERM')
  const timer = setTimeout(() => signal('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
  // Grandchildren (workerd) may outlive their parent's exit by a moment.
  signal('SIGKILL')
}
