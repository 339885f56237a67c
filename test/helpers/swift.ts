// A real OpenStack Swift on loopback for tests: Debian's Swift 2.30 (`apt-get install swift
// swift-proxy swift-account swift-container swift-object`) run as a single-node "Swift all in
// one" by test/helpers/swift-all-in-one.py, in a temp directory removed on stop. Tempauth users:
// `test:tester` / `testing` (account admin) and `test:reader` / `reading`. Start-up takes about
// 1.5 s on an idle machine (3-4 s on a loaded one): one Python process, rings built in-process.

import { waitForReady } from './child-ready.ts'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface RunningSwift {
  /** The v1 auth endpoint: `http://127.0.0.1:<port>/auth/v1.0`. */
  authUrl: string
  /** The test account's storage URL: `http://127.0.0.1:<port>/v1/AUTH_test`. */
  storageUrl: string
  user: string
  key: string
  port: number
  /** Milliseconds from spawn to every server listening. */
  startupMs: number
  /** A fresh token of the admin user (for test setup: containers, account metadata). */
  token(): Promise<string>
  stop(): Promise<void>
}

export interface SwiftOptions {
  /** Containers to create once it is up. */
  containers?: string[]
  /** Sets X-Account-Meta-Temp-URL-Key on the test account. */
  tempUrlKey?: string
  /** Lifetime of tempauth tokens, in seconds (24 h by default). */
  tokenLifeSeconds?: number
}

const SCRIPT = fileURLToPath(new URL('./swift-all-in-one.py', import.meta.url))
const PROXY_BIN = '/usr/bin/swift-proxy-server'
const START_TIMEOUT_MS = 60_000

/** Why Swift cannot run here, or null when it can: tests skip with this message. */
export function swiftUnavailable(): string | null {
  if (!existsSync(PROXY_BIN)) return `OpenStack Swift is not installed (${PROXY_BIN} missing): apt-get install swift swift-proxy swift-account swift-container swift-object`
  return null
}

/** The interpreter the Debian packages run Swift with (its shebang): pyenv shims lack eventlet. */
function swiftPython(): string {
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(PROXY_BIN, 'utf8').split('\n', 1)[0]!)
  return shebang?.[1] ?? '/usr/bin/python3'
}

export async function startSwift({ containers = [], tempUrlKey, tokenLifeSeconds = 86_400 }: SwiftOptions = {}): Promise<RunningSwift> {
  const why = swiftUnavailable()
  if (why) throw new Error(why)
  const dir = await mkdtemp(join(tmpdir(), 'meridian-swift-'))
  const started = performance.now()
  // No green DNS: dnspython's import alone costs a second, and everything here is 127.0.0.1.
  const child = spawn(swiftPython(), [SCRIPT, dir, String(tokenLifeSeconds)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, EVENTLET_NO_GREENDNS: 'yes', PYTHONDONTWRITEBYTECODE: '1' },
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    }
    await rm(dir, { recursive: true, force: true })
  }

  let errors = ''
  child.stderr.on('data', (data: Buffer) => {
    // Kept for the start-up failure message only, and bounded.
    errors = (errors + data.toString()).slice(-8000)
  })
  const port = await waitForReady(child, {
    name: 'swift', timeoutMs: START_TIMEOUT_MS, streams: [child.stdout], exited, diagnostics: () => errors,
    // One JSON line with the proxy's port once every server listens.
    ready: (output) => {
      const line = output.split('\n').find((l) => l.startsWith('{'))
      return line && output.includes('\n') ? (JSON.parse(line) as { proxy: number }).proxy : null
    },
    cleanUp: () => rm(dir, { recursive: true, force: true }),
  })
  const startupMs = Math.round(performance.now() - started)
  child.stdout.resume()

  const authUrl = `http://127.0.0.1:${port}/auth/v1.0`
  const storageUrl = `http://127.0.0.1:${port}/v1/AUTH_test`
  const user = 'test:tester'
  const key = 'testing'
  async function token(): Promise<string> {
    const res = await fetch(authUrl, { headers: { 'X-Auth-User': user, 'X-Auth-Key': key } })
    const value = res.headers.get('x-auth-token')
    if (res.status !== 200 || !value) throw new Error(`swift auth answered ${res.status}`)
    return value
  }

  try {
    const headers = { 'X-Auth-Token': await token() }
    for (const name of containers) {
      const res = await fetch(`${storageUrl}/${encodeURIComponent(name)}`, { method: 'PUT', headers })
      if (!res.ok) throw new Error(`creating container ${name}: ${res.status}`)
    }
    if (tempUrlKey !== undefined) {
      const res = await fetch(storageUrl, { method: 'POST', headers: { ...headers, 'X-Account-Meta-Temp-URL-Key': tempUrlKey } })
      if (!res.ok) throw new Error(`setting the temp URL key: ${res.status}`)
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { authUrl, storageUrl, user, key, port, startupMs, token, stop }
}
