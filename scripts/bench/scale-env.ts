// What the scale benchmark runs against: a throwaway PostgreSQL cluster made as durable as the
// SQLite path (SQLite commits with synchronous=FULL, an fsync per commit; the test cluster starts
// with fsync off, which would flatter PostgreSQL), a fresh database per measurement, origin and
// worker processes from the production bundles, and CPU accounting of the PostgreSQL server.

import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { createDatabase, startPostgres, type PostgresCluster } from '../../test/helpers/postgres.ts'
import { readCpuSeconds, spawnOrigin, stopChild, type OriginProcess } from './origin-process.ts'

export type Engine = 'sqlite' | 'postgres'

export async function startDurablePostgres(): Promise<PostgresCluster> {
  const cluster = await startPostgres({ maxConnections: 200 })
  const c = new pg.Client({ connectionString: cluster.url })
  await c.connect()
  try {
    // All three are reloadable (sighup / user): no restart.
    for (const s of ['fsync = on', 'synchronous_commit = on', 'full_page_writes = on']) await c.query(`ALTER SYSTEM SET ${s}`)
    await c.query('SELECT pg_reload_conf()')
  } finally {
    await c.end()
  }
  return cluster
}

let databases = 0
/** A fresh database URL for one measurement: `sqlite:<dir>/…` or a new PostgreSQL database. */
export async function freshDatabase(engine: Engine, cluster: PostgresCluster | null, dir: string, label: string): Promise<string> {
  const name = `scale_${label.replace(/\W/g, '_')}_${++databases}`
  if (engine === 'sqlite') return `sqlite:${join(dir, `${name}.db`)}`
  if (!cluster) throw new Error('freshDatabase: PostgreSQL asked for without a cluster')
  await createDatabase(cluster.url, name)
  return cluster.urlFor(name)
}

/**
 * user + system seconds of the postmaster and every backend (its children), the exited ones
 * included: the postmaster reaps its backends, so their CPU is in its cutime + cstime (a pool
 * closing idle connections otherwise made the total go down between two samples).
 */
export function postgresCpuSeconds(cluster: PostgresCluster): number {
  const root = cluster.child.pid!
  let total = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // Fields 14-17 after the name: utime, stime, cutime, cstime (ticks of 1/100 s).
      if (Number(entry) === root) total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100
      else if (Number(fields[1]) === root) total += readCpuSeconds(Number(entry))
    } catch {
      // The process ended between readdir and read.
    }
  }
  return total
}

/**
 * `count` origin processes (dist/origin.mjs) on one database and one data dir, so they share
 * locations as origins behind a load balancer share buckets. `worker`: the replication worker
 * runs inside each origin (`npm start`); otherwise jobs queue for an external worker.
 */
export async function spawnOrigins(o: { repoRoot: string; dataDir: string; databaseUrl: string; count: number; worker: boolean; entry?: string }): Promise<OriginProcess[]> {
  const origins: OriginProcess[] = []
  try {
    // One at a time: each migrates (a no-op after the first) and takes its leases.
    for (let i = 0; i < o.count; i++) {
      origins.push(await spawnOrigin({ cwd: o.repoRoot, dataDir: o.dataDir, worker: o.worker, entry: o.entry, env: { DATABASE_URL: o.databaseUrl } }))
    }
  } catch (err) {
    await stopAll(origins)
    throw err
  }
  return origins
}

export async function stopAll(processes: Array<{ stop(): Promise<void> }>): Promise<void> {
  await Promise.all(processes.map((p) => p.stop().catch(() => undefined)))
}

/** `npm run worker` (dist/worker.mjs) on the origin's config and database, once it says ready. */
export async function spawnWorker(o: { repoRoot: string; dataDir: string; databaseUrl: string; entry?: string }): Promise<{ pid: number; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [o.entry ?? 'dist/worker.mjs'], {
    cwd: o.repoRoot,
    env: { ...process.env, MERIDIAN_CONFIG: join(o.dataDir, 'bench-config.yaml'), MERIDIAN_DATA_DIR: o.dataDir, DATABASE_URL: o.databaseUrl, MERIDIAN_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { if (s.includes('worker ready')) resolve() })
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)))
  })
  return {
    pid: child.pid!,
    stop: () => stopChild(child, 'SIGTERM'),
  }
}
