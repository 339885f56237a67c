// A throwaway PostgreSQL cluster for tests: Debian's PostgreSQL 15 binaries, initdb into a temp
// dir, one server on 127.0.0.1 on a free port, trust auth, durability off (a test cluster is
// thrown away). Run as the `postgres` user when the tests run as root (initdb refuses root).
// The cluster's default collation is ICU en-US, a language order as on most real servers, so a
// query whose order depended on it (rather than on the byte order the migrations set) would show.
// `MERIDIAN_TEST_DATABASE=postgres` runs the whole suite on it: test/setup/postgres-global.ts
// starts one cluster per vitest run and testDatabaseUrl() gives each origin a fresh database.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string
  port: number
  /** A URL for database `name` on this cluster. */
  urlFor(name: string): string
  stop(): Promise<void>
  /** SIGKILLs the server (crash tests); start() again on the same data dir. */
  child: ChildProcess
}

/** The newest installed PostgreSQL's bin directory, or null when none is installed. */
export function postgresBin(): string | null {
  if (process.env.MERIDIAN_PG_BIN) return process.env.MERIDIAN_PG_BIN
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a))
  return versions.length ? join(root, versions[0], 'bin') : null
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
  return { uid, gid }
}

export async function startPostgres(options: { maxConnections?: number } = {}): Promise<PostgresCluster> {
  const bin = postgresBin()
  if (!bin) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (see .ci/run)')
  const dir = mkdtempSync(join(tmpdir(), 'meridian-pg-'))
  const data = join(dir, 'data')
  const user = postgresUser()
  if (user) { chownSync(dir, user.uid, user.gid); chmodSync(dir, 0o700) }
  const asUser = { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } }
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale-provider=icu', '--icu-locale=en-US'], { ...asUser, stdio: 'ignore' })
  const port = await freePort()
  const child = spawn(join(bin, 'postgres'), [
    '-D', data, '-k', dir, '-h', '127.0.0.1', '-p', String(port),
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    '-c', `max_connections=${options.maxConnections ?? 400}`, '-c', 'shared_buffers=64MB',
  ], { ...asUser, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000) })
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${log}`)
    const c = new pg.Client({ connectionString: url })
    try {
      await c.connect()
      await c.end()
      break
    } catch {
      await c.end().catch(() => {})
      if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`postgres did not start: ${log}`) }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    url, port, child,
    urlFor: (name) => `postgres://postgres@127.0.0.1:${port}/${name}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGINT') // fast shutdown
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
        if (child.exitCode === null) child.kill('SIGKILL')
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Creates database `name` on the cluster at `adminUrl` (a copy of `template` when given). */
export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl })
  await c.connect()
  try {
    // FILE_COPY: with fsync off, copying the small template's files beats WAL-logging them (~290 vs ~450 ms).
    await c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}${template ? ` TEMPLATE ${pg.escapeIdentifier(template)} STRATEGY FILE_COPY` : ''}`)
  } finally {
    await c.end()
  }
}
