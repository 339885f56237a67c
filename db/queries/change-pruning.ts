// Pruning the change log (README "Change feed (edges)"): the log only grows, one row per fact ever
// changed (docs/scaling.md: 30–38 % of the database at 100 M blobs), yet only its tail is read. Rows
// older than the retention go, oldest first, and the settings row `changes_pruned_through` records
// the highest seq removed, in the same transaction: a feed reader asking for changes after a lower
// position is told 410 (rebuild from the snapshot) instead of getting a page with a silent gap.

import { and, asc, eq, gt, lt, lte, max } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { changes, settings } from '../schema.ts'

export const PRUNED_THROUGH = 'changes_pruned_through'

/** The highest seq pruned from the log; 0 when nothing ever was. */
export async function changesPrunedThrough(db: Db): Promise<number> {
  const row = await db.select({ value: settings.value }).from(settings).where(eq(settings.name, PRUNED_THROUGH)).get()
  return row ? Number(row.value) : 0
}

export interface PruneBatch {
  /** Rows removed by this batch. */
  removed: number
  /** The log's pruned-through position after it. */
  through: number
  /** The batch stopped at its size, not at the retention: call again. */
  more: boolean
}

/**
 * Removes up to `batch` of the oldest changes whose `at` is before `cutoffAt`, in seq order, stopping
 * at the first one that is not (a straggler's `at` never lets a newer row go before an older one).
 * The newest change always stays: the feed's head is the log's highest seq, and an empty log would
 * read as head 0, so every edge would be "ahead of the origin" and rebuild. Idempotent; several
 * origins may run it at once (each batch is one transaction; the watermark only rises).
 */
export async function pruneChangesBatch(db: Db, cutoffAt: number, batch: number, now = Date.now()): Promise<PruneBatch> {
  return db.transaction(async (tx) => {
    const from = await changesPrunedThrough(tx)
    const head = (await tx.select({ seq: max(changes.seq) }).from(changes).get())?.seq ?? 0
    const rows = await tx.select({ seq: changes.seq, at: changes.at }).from(changes)
      .where(and(gt(changes.seq, from), lt(changes.seq, head))).orderBy(asc(changes.seq)).limit(batch).all()
    let through = from
    for (const row of rows) {
      if (row.at >= cutoffAt) break
      through = row.seq
    }
    if (through === from) return { removed: 0, through, more: false }
    const { changes: removed } = await tx.delete(changes).where(lte(changes.seq, through)).run()
    const value = String(through)
    await tx.insert(settings).values({ name: PRUNED_THROUGH, value, createdAt: now })
      .onConflictDoUpdate({ target: settings.name, set: { value } }).run()
    return { removed, through, more: rows.length === batch && through === rows.at(-1)!.seq }
  })
}

/** Rows per transaction: short enough not to hold the log (or SQLite's one writer) for long. */
export const PRUNE_BATCH = 5_000

export interface PruneResult { removed: number; through: number }

/** Removes every change older than `retainMs` (but never the newest); stops early on `signal`. */
export async function pruneChanges(db: Db, options: { retainMs: number; now?: number; batch?: number; signal?: AbortSignal }): Promise<PruneResult> {
  const { retainMs, now = Date.now(), batch = PRUNE_BATCH, signal } = options
  const result: PruneResult = { removed: 0, through: 0 }
  for (;;) {
    const step = await pruneChangesBatch(db, now - retainMs, batch, now)
    result.removed += step.removed
    result.through = step.through
    if (!step.more || signal?.aborted) return result
    // Let requests waiting on the database (SQLite's single writer above all) go between batches.
    await new Promise((resolve) => setImmediate(resolve))
  }
}
