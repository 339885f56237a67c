// The index change log: every change an edge must see, appended in the same transaction as the
// change itself, so the log and the data never disagree.

import { gt, asc } from 'drizzle-orm'
import type { Db, Tx } from '../client.ts'
import { changes } from '../schema.ts'
import { CHANGES_CHANNEL } from '../notify.ts'

export type { Tx } from '../client.ts'

export type ChangeKind =
  | 'blob.linked' | 'blob.unlinked' | 'placement.present' | 'placement.removed'
  | 'manifest.put' | 'manifest.deleted' | 'tag.set' | 'tag.deleted' | 'location.health'
  | 'repository.visibility'

/**
 * pg_advisory_xact_lock key of the change log. Edges page the log by seq (`seq > after`), so a
 * seq must never become visible after a higher one was readable: a reader that had moved past it
 * would skip it for ever. SQLite has one writer at a time, so seq order is commit order there. On
 * PostgreSQL transactions run concurrently: each keeps its appends until just before its COMMIT,
 * then takes this lock (held until the commit ends), inserts them (taking seqs) and commits. Only
 * that last moment is serial, not the transactions. Lock, NOTIFY and insert are one statement
 * (FLUSH_CHANGES), so the serial moment is one round trip and the commit.
 *
 * A second user: a replication completion on PostgreSQL takes it inside one statement
 * (completeInOneStatement in db/queries/replication.ts), while it holds the placement's and the
 * job's row locks. So nothing that holds this lock may then wait for those rows (a $beforeCommit
 * hook writing a placement or a job after the flush would close a deadlock cycle).
 */
export const CHANGE_LOG_LOCK = 7_302_012
const pending = new WeakMap<Tx, Array<typeof changes.$inferInsert>>()

export async function appendChange(tx: Tx, kind: ChangeKind, repository: string | null, payload: Record<string, unknown>, now = Date.now()): Promise<void> {
  // A lone append gets a transaction of its own (the ordering below needs one).
  if (!tx.$inTransaction) return tx.transaction((own) => appendChange(own, kind, repository, payload, now))
  const row = { kind, repository, payload: JSON.stringify(payload), at: now }
  if (tx.$dialect !== 'postgres') {
    await tx.insert(changes).values(row).run()
    return
  }
  let rows = pending.get(tx)
  if (!rows) {
    pending.set(tx, rows = [])
    const appended = rows
    tx.$beforeCommit.push(async () => {
      await tx.$execute(FLUSH_CHANGES, [
        CHANGE_LOG_LOCK, CHANGES_CHANNEL,
        appended.map((r) => r.kind), appended.map((r) => r.repository), appended.map((r) => r.payload), appended.map((r) => r.at),
      ], 'run')
    })
  }
  rows.push(row)
}

/**
 * PostgreSQL: the change-log lock, the wake-up of feed listeners (delivered at COMMIT) and the
 * transaction's appends in append order (WITH ORDINALITY: the plan keeps the arrays' order, no
 * sort). Every row is joined to the lock's one-row subquery, so the lock is taken before the first
 * row reaches the insert and takes its seq (the table's BEFORE INSERT trigger). One text for any
 * number of rows: the appends travel as four arrays.
 */
const FLUSH_CHANGES = `insert into "changes" ("kind", "repository", "payload", "at")
select c.kind, c.repository, c.payload, c.at
from (select pg_advisory_xact_lock(?), pg_notify(?, '')) as l,
  unnest(cast(? as text[]), cast(? as text[]), cast(? as text[]), cast(? as bigint[])) with ordinality as c(kind, repository, payload, at, n)
order by c.n`

export async function changesSince(db: Db, seq: number, limit = 1000) {
  return (await db.select().from(changes).where(gt(changes.seq, seq)).orderBy(asc(changes.seq)).limit(limit).all())
    .map((c) => ({ ...c, payload: JSON.parse(c.payload) as Record<string, unknown> }))
}
