// The index change log: every change an edge must see, appended in the same transaction as the
// change itself, so the log and the data never disagree.

import { gt, asc } from 'drizzle-orm'
import type { Db, Tx } from '../client.ts'
import { changes } from '../schema.ts'
import { CHANGES_CHANNEL, notifyOnCommit } from '../notify.ts'

export type { Tx } from '../client.ts'

export type ChangeKind =
  | 'blob.linked' | 'blob.unlinked' | 'placement.present' | 'placement.removed'
  | 'manifest.put' | 'manifest.deleted' | 'tag.set' | 'tag.deleted' | 'location.health'
  | 'repository.visibility'

export async function appendChange(tx: Tx, kind: ChangeKind, repository: string | null, payload: Record<string, unknown>, now = Date.now()): Promise<void> {
  // A lone append gets a transaction of its own: on PostgreSQL, transactions commit in seq order.
  if (!tx.$inTransaction) return tx.transaction((own) => appendChange(own, kind, repository, payload, now))
  await notifyOnCommit(tx, CHANGES_CHANNEL)
  await tx.insert(changes).values({ kind, repository, payload: JSON.stringify(payload), at: now }).run()
}

export async function changesSince(db: Db, seq: number, limit = 1000) {
  return (await db.select().from(changes).where(gt(changes.seq, seq)).orderBy(asc(changes.seq)).limit(limit).all())
    .map((c) => ({ ...c, payload: JSON.parse(c.payload) as Record<string, unknown> }))
}
