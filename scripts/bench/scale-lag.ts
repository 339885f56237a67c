// Two lags (issue #11), measured on whatever origins the caller started:
// - change-feed lag: a manifest PUT's change (its `at`, stamped in the writing transaction) to
//   the moment a long-polling feed reader (GET /_meridian/feed?wait=) receives it. The writer is
//   the reader's origin (woken in process) or another origin process (woken by LISTEN/NOTIFY on
//   PostgreSQL; by the 200 ms poll on SQLite, where no notification crosses processes).
// - small-blob replication lag: a blob's commit (its job's created_at) to present in every other
//   default location (the slowest job's finished_at). Two ways to push:
//   - at a steady rate (`intervalMs`: push i starts at i × interval, whatever the previous
//     push's state, unless it is still running): the lag a blob sees under a stated load;
//   - back to back (no interval), as scripts/bench/replication.ts measured the README's older
//     figure: the client pushes as fast as the origin takes, so the push stream alone saturates
//     this 2-core machine and its one disk (all three locations and the database share it), and
//     the lag's tail is queueing behind the pushes, not the worker's wake-up.

import { Agent } from 'node:http'
import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { closeDatabase, openDatabase, type Db } from '../../db/client.ts'
import { FEED_PATH, type FeedPage } from '../../oci/pull/feed.ts'
import { imageManifest, pushSmallBlob, putManifestByTag } from './scale-push.ts'

export interface Lags { count: number; p50Ms: number; p99Ms: number; maxMs: number }
/** A replication-lag run: its lags, and the mean time between the starts of its pushes. */
export type LagRun = Lags & { intervalMs: number }

/**
 * The steady rates the replication-lag goal is measured at: a 4 KiB blob every 50 ms, a 1 MiB blob
 * every 100 ms (10 MiB/s pushed, 20 MiB/s copied). Back to back the same origin took one every
 * ~20 ms and ~35 ms here: these are 40 % and 35 % of that, a busy registry that is not saturated.
 */
export const LAG_INTERVAL_MS = { small: 50, mib: 100 }

export function lags(values: number[]): Lags {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
  return { count: sorted.length, p50Ms: at(50), p99Ms: at(99), maxMs: sorted[sorted.length - 1] }
}

const now = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** `count` manifest PUTs to `writer`, one at a time, each received by a long poll on `reader`. */
export async function feedLag(reader: string, writer: string, o: { count: number; label: string }): Promise<Lags> {
  const repo = `bench/feed-${o.label}`
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const config = Buffer.from(JSON.stringify({ os: 'linux', label: o.label }))
  const layer = randomBytes(1024)
  const parts = {
    config: { digest: await pushSmallBlob(agent, writer, repo, config), size: config.byteLength },
    layer: { digest: await pushSmallBlob(agent, writer, repo, layer), size: layer.byteLength },
  }
  const start = (await (await fetch(`${reader}${FEED_PATH}?after=0&limit=1`)).json()) as FeedPage
  const received: number[] = []
  let seen = start.head
  let stop = false
  let wake = null as (() => void) | null
  const poll = (async () => {
    while (!stop) {
      const res = await fetch(`${reader}${FEED_PATH}?after=${seen}&limit=5000&wait=5`)
      const page = (await res.json()) as FeedPage
      const t = now()
      // One sample per manifest PUT: its transaction's first change (all share one `at`).
      const commits = new Set(page.changes.filter((c) => 'repository' in c && c.repository === repo).map((c) => c.at))
      for (const at of commits) received.push(t - at)
      seen = page.next
      wake?.()
    }
  })()
  try {
    for (let i = 0; i < o.count; i++) {
      const before = received.length
      const arrived = new Promise<void>((resolve) => { wake = resolve })
      await putManifestByTag(agent, writer, repo, `f${i}`, imageManifest(parts.config, parts.layer, `${o.label}-${i}`))
      // Wait for the reader (the next PUT must not find it mid-request), then a pause.
      const deadline = now() + 2000
      while (received.length === before && now() < deadline) await Promise.race([arrived, sleep(50)])
      await sleep(5 + Math.random() * 10)
    }
  } finally {
    stop = true
    agent.destroy()
    // Wake the last long poll with one more change rather than wait out its 5 s.
    const tail = new Agent({ keepAlive: false })
    await putManifestByTag(tail, writer, repo, 'tail', imageManifest(parts.config, parts.layer, `${o.label}-tail`)).catch(() => undefined)
    await poll.catch(() => undefined)
  }
  if (received.length < o.count) throw new Error(`feed lag: ${received.length} of ${o.count} changes received`)
  return lags(received.slice(0, o.count))
}

/**
 * `count` blobs of `bytes` pushed back to back to `origin`; per blob, commit → present everywhere.
 * `warmUp` blobs of the same size go first, unmeasured, replicated before the measured ones: the
 * first one or two copies of a size pay for cold code paths in the origin and the worker (up to
 * 3× the steady lag here, on both engines), which alone made the p99 of 100 (the second worst).
 */
export async function replicationLag(origin: string, databaseUrl: string, o: { count: number; bytes: number; label: string; warmUp?: number; intervalMs?: number }): Promise<LagRun> {
  const db = await openDatabase(databaseUrl)
  let achieved = 0
  try {
    const push = async (n: number) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      const digests = new Set<string>()
      // Made before the first push: the client's own work stays off the measured pushes' path.
      const bodies = Array.from({ length: n }, () => randomBytes(o.bytes))
      const started = performance.now()
      let lastStart = started
      try {
        for (let i = 0; i < n; i++) {
          if (o.intervalMs) await sleep(started + i * o.intervalMs - performance.now())
          lastStart = performance.now()
          digests.add(await pushSmallBlob(agent, origin, `bench/repl-${o.label}`, bodies[i]))
        }
        // Between the first push's start and the last one's: the rate the pushes were offered at.
        achieved = n > 1 ? (lastStart - started) / (n - 1) : 0
      } finally {
        agent.destroy()
      }
      return digests
    }
    if ((o.warmUp ?? 3) > 0) await replicated(db, await push(o.warmUp ?? 3))
    const measured = lags(await replicated(db, await push(o.count)))
    return { ...measured, intervalMs: achieved }
  } finally {
    await closeDatabase(db)
  }
}

/** Waits until every job of these blobs is done; per blob, its job's created_at → the last finished_at. */
async function replicated(db: Db, digests: Set<string>): Promise<number[]> {
  const deadline = Date.now() + 120_000
  for (;;) {
    const rows = await db.$all<{ digest: string; state: string; created_at: number; finished_at: number | null }>(
      sql`SELECT digest, state, created_at, finished_at FROM replication_jobs`)
    const mine = rows.filter((r) => digests.has(r.digest))
    const open = mine.filter((r) => r.state !== 'done')
    if (open.some((r) => r.state === 'dead')) throw new Error('replication dead-lettered')
    if (open.length === 0 && mine.length > 0) {
      const perBlob = new Map<string, number>()
      for (const r of mine) perBlob.set(r.digest, Math.max(perBlob.get(r.digest) ?? 0, Number(r.finished_at) - Number(r.created_at)))
      if (perBlob.size !== digests.size) throw new Error(`replication lag: ${perBlob.size} of ${digests.size} blobs had jobs`)
      return [...perBlob.values()]
    }
    if (Date.now() > deadline) throw new Error(`replication not done after 120 s (${open.length} jobs open)`)
    await sleep(50)
  }
}
