// The index change log: every change an edge must see, appended in the same transaction as the
// change itself, so the log and the data never disagree.

import { gt, asc } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { changes } from '../schema.ts'

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0] | Db

export type ChangeKind =
  | 'blob.linked' | 'blob.unlinked' | 'placement.present' | 'placement.removed'
  | 'manifest.put' | 'manifest.deleted' | 'tag.set' | 'tag.deleted' | 'location.health'
  | 'repository.visibility'

export function appendChange(tx: Tx, kind: ChangeKind, repository: string | null, payload: Record<string, unknown>, now = Date.now()): void {
  tx.insert(changes).values({ kind, repository, payload: JSON.stringify(payload), at: now }).run()
}

export function changesSince(db: Db, seq: number, limit = 1000) {
  return db.select().from(changes).where(gt(changes.seq, seq)).orderBy(asc(changes.seq)).limit(limit).all()
    .map((c) => ({ ...c, payload: JSON.parse(c.payload) as Record<string, unknown> }))
}
