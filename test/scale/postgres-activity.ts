// What PostgreSQL itself saw of a test's database while it ran: how many sessions were busy or
// waiting for a lock at once (sampled), and how many transactions rolled back (serialization
// failures retried by db/postgres-executor.ts count here). For the report when a run is slow.

import { sql } from 'drizzle-orm'
import type { Db } from '../../db/client.ts'

export interface ActivityReport {
  samples: number
  maxActive: number
  maxLockWaits: number
  commits: number
  rollbacks: number
  /** Statements seen waiting for a lock, by their first 160 characters, with what held it, most frequent first. */
  lockWaits: Array<{ waiting: string; blockedBy: string; samples: number }>
}

interface Counters { commits: number; rollbacks: number }

async function counters(db: Db): Promise<Counters> {
  const [row] = await db.$all<{ commits: string; rollbacks: string }>(
    sql`SELECT xact_commit AS commits, xact_rollback AS rollbacks FROM pg_stat_database WHERE datname = current_database()`)
  return { commits: Number(row?.commits ?? 0), rollbacks: Number(row?.rollbacks ?? 0) }
}

/** Samples pg_stat_activity every `everyMs` until the returned stop() is called. */
export async function watchActivity(db: Db, everyMs = 250): Promise<{ stop(): Promise<ActivityReport> }> {
  const before = await counters(db)
  const report: ActivityReport = { samples: 0, maxActive: 0, maxLockWaits: 0, commits: 0, rollbacks: 0, lockWaits: [] }
  const waits = new Map<string, { waiting: string; blockedBy: string; samples: number }>()
  let running = true
  const loop = (async () => {
    while (running) {
      const [row] = await db.$all<{ active: string; locks: string }>(sql`
        SELECT count(*) FILTER (WHERE state = 'active') AS active, count(*) FILTER (WHERE wait_event_type = 'Lock') AS locks
          FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
      report.samples++
      report.maxActive = Math.max(report.maxActive, Number(row?.active ?? 0))
      report.maxLockWaits = Math.max(report.maxLockWaits, Number(row?.locks ?? 0))
      if (Number(row?.locks ?? 0) > 0) {
        const blocked = await db.$all<{ waiting: string; blocker: string | null }>(sql`
          SELECT regexp_replace(substring(w.query, 1, 160), '[[:space:]]+', ' ', 'g') AS waiting,
                 (SELECT regexp_replace(substring(b.state || ': ' || b.query, 1, 160), '[[:space:]]+', ' ', 'g') FROM pg_stat_activity b
                   WHERE b.pid = (pg_blocking_pids(w.pid))[1]) AS blocker
            FROM pg_stat_activity w WHERE w.datname = current_database() AND w.wait_event_type = 'Lock'`)
        for (const b of blocked) {
          const k = `${b.waiting}\u0000${b.blocker ?? '?'}`
          const entry = waits.get(k) ?? { waiting: b.waiting, blockedBy: b.blocker ?? '?', samples: 0 }
          entry.samples++
          waits.set(k, entry)
        }
      }
      await new Promise((r) => setTimeout(r, everyMs))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      // pg_stat_database is updated when sessions report (at most every second or so): wait for it.
      await new Promise((r) => setTimeout(r, 1100))
      const after = await counters(db)
      report.lockWaits = [...waits.values()].sort((a, b) => b.samples - a.samples)
      return { ...report, commits: after.commits - before.commits, rollbacks: after.rollbacks - before.rollbacks }
    },
  }
}
