// Finished replication jobs are kept for a while (the admin API's job list and lag figures read
// them), then pruned: one row per copy ever made, they were the second table that only grows
// (docs/scaling.md: 55–77 GB at 100 M blobs). Only `done` jobs go. Dead letters wait for an
// operator; pending and running ones are work. A done job is not needed to stop a copy happening
// twice: enqueueReplication skips locations that already hold the blob.

import { and, asc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { replicationJobs } from '../schema.ts'

/** Rows per statement: short enough not to hold SQLite's one writer for long. */
export const JOB_PRUNE_BATCH = 5_000

/**
 * Deletes the done jobs that were due and finished before `cutoffAt`, `batch` at a time, until
 * none is left or `signal` is aborted. Found through the (state, due_at) index (a done job finished
 * after it was due, so due_at narrows the search and finished_at decides), in (due_at, id) order,
 * each batch starting after the last one's key: on PostgreSQL the index entries of rows already
 * deleted stay until vacuum, and a batch starting from the range's beginning would walk them all
 * again. Returns how many went.
 */
export async function pruneFinishedJobs(db: Db, options: { cutoffAt: number; batch?: number; signal?: AbortSignal }): Promise<number> {
  const { cutoffAt, batch = JOB_PRUNE_BATCH, signal } = options
  let removed = 0
  let last: { dueAt: number; id: number } | null = null
  for (;;) {
    const after: SQL | undefined = last === null ? undefined : sql`(${replicationJobs.dueAt}, ${replicationJobs.id}) > (${last.dueAt}, ${last.id})`
    const rows: { id: number; dueAt: number; finishedAt: number | null }[] = await db.select({ id: replicationJobs.id, dueAt: replicationJobs.dueAt, finishedAt: replicationJobs.finishedAt }).from(replicationJobs)
      .where(and(eq(replicationJobs.state, 'done'), lt(replicationJobs.dueAt, cutoffAt), after))
      .orderBy(asc(replicationJobs.dueAt), asc(replicationJobs.id)).limit(batch).all()
    if (rows.length === 0) return removed
    last = rows[rows.length - 1]!
    const old = rows.filter((r) => r.finishedAt !== null && r.finishedAt < cutoffAt).map((r) => r.id)
    // The state is checked again on the row: a job revived (done → pending) since the select stays.
    if (old.length > 0) removed += (await db.delete(replicationJobs).where(and(inArray(replicationJobs.id, old), eq(replicationJobs.state, 'done'))).run()).changes
    if (rows.length < batch || signal?.aborted) return removed
    await new Promise((resolve) => setImmediate(resolve))
  }
}
