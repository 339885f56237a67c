// The change log's order is its commit order, on both engines. Edges page the log by seq
// (`seq > after`), so a change must never commit after a higher seq was already readable: a reader
// that had moved past it would skip it for ever. SQLite has one writer at a time, so seq order is
// commit order already. On PostgreSQL, concurrent transactions take seqs from the sequence and may
// commit in another order; a transaction-scoped advisory lock taken before the first append, held
// until commit, makes appends (and their commits) one at a time. Only transactions that append to
// the log take it; the lock is re-entrant within one transaction.

import type { Tx } from './client.ts'

/** pg_advisory_xact_lock key of the change log. */
const CHANGE_LOG_LOCK = 7_302_012

export async function lockChangeLog(tx: Tx): Promise<void> {
  if (tx.$dialect !== 'postgres') return
  await tx.$execute('SELECT pg_advisory_xact_lock(?)', [CHANGE_LOG_LOCK], 'run')
}
