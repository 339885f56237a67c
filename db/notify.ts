// Wake-ups after a commit, so that neither index lag nor replication lag waits for a poll.
// On PostgreSQL a transaction that appends to the change log or queues replication jobs also
// NOTIFYs (delivered to every listening origin and worker when it commits, dropped if it rolls
// back); each process LISTENs and wakes its feed long-polls and its workers. On SQLite the origin
// signals in process (origin/deps.ts onCommit) and `listenForCommits` has nothing to add.
// Either way the listeners keep their own slow poll as a safety net (a lost connection).

import type { Db, Tx } from './client.ts'
import { postgresOf } from './client.ts'

/** A change was appended to the index change log (edges' feed). */
export const CHANGES_CHANNEL = 'meridian_changes'
/** Replication jobs were queued or became due (workers). */
export const JOBS_CHANNEL = 'meridian_jobs'

export type CommitChannel = typeof CHANGES_CHANNEL | typeof JOBS_CHANNEL

/** Inside a transaction: tell every listener on `channel` once it commits. Nothing on SQLite. */
export async function notifyOnCommit(tx: Tx, channel: CommitChannel): Promise<void> {
  if (tx.$dialect !== 'postgres') return
  // PostgreSQL folds identical notifications of one transaction into one.
  await tx.$execute('SELECT pg_notify(?, ?)', [channel, ''], 'run')
}

/**
 * Calls `onCommit` after every commit on `channel` by any process sharing the database (a
 * dedicated connection, reconnected when lost; `onCommit` is also called then, since
 * notifications may have been missed). Returns the function that stops listening. On SQLite: a
 * no-op (the caller's in-process signal covers it).
 */
export async function listenForCommits(db: Db, channel: CommitChannel, onCommit: () => void): Promise<() => Promise<void>> {
  const pg = postgresOf(db)
  if (!pg) return async () => {}
  return pg.listen(channel, () => onCommit())
}
