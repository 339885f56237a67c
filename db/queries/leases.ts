// Leases: "exactly one process of the deployment does X now" (the reconciler, the hourly
// cleanup), across origins and workers sharing the database. A lease is a row, so it works the
// same on SQLite (several processes on one file) and PostgreSQL (several machines). Taking and
// renewing is one upsert: on SQLite one writer runs at a time; on PostgreSQL ON CONFLICT DO UPDATE
// locks the row, and its WHERE decides on the row as committed, so two contenders never both win.
// A holder that dies stops renewing; the lease expires and another process takes it.

import { and, eq, sql } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { leases } from '../schema.ts'

/**
 * Takes lease `name` for `owner` until now+ttlMs if it is free, expired, or already `owner`'s
 * (then it is renewed). True when `owner` holds it now.
 */
export async function acquireLease(db: Db, name: string, owner: string, ttlMs: number, now = Date.now()): Promise<boolean> {
  const r = await db.insert(leases).values({ name, owner, until: now + ttlMs })
    .onConflictDoUpdate({
      target: leases.name,
      set: { owner, until: now + ttlMs },
      setWhere: sql`${leases.until} < ${now} or ${leases.owner} = ${owner}`,
    }).run()
  return r.changes > 0
}

/** Gives the lease up early (a clean stop), so another process need not wait for it to expire. */
export async function releaseLease(db: Db, name: string, owner: string): Promise<void> {
  await db.delete(leases).where(and(eq(leases.name, name), eq(leases.owner, owner))).run()
}

export async function leaseHolder(db: Db, name: string, now = Date.now()): Promise<string | null> {
  const row = await db.select().from(leases).where(eq(leases.name, name)).get()
  return row && row.until >= now ? row.owner : null
}
