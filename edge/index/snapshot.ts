// Loading a snapshot (oci/pull/feed.ts SnapshotLine) into an index without ever serving half of
// it: records go into staging copies of the tables, in batches; only at the `end` line, when the
// record count matches, one batch swaps them in and moves the position. A snapshot that stops
// early (connection cut, origin restarted) leaves the live tables and position as they were.

import type { SnapshotLine } from '../../oci/pull/feed.ts'
import type { SqlStatement, SqlStore } from './sql-store.ts'
import { META, createStaging, dropStaging, swapStaging } from './schema.ts'
import { snapshotStatements } from './statements.ts'

/** The snapshot cannot be used: cut short, out of order, or its count disagrees. */
export class SnapshotError extends Error {
  override name = 'SnapshotError'
}

export interface LoadedSnapshot {
  position: number
  takenAt: number
  records: number
}

/** Records per staging batch: each is one transaction; D1 caps a batch's size and duration. */
const DEFAULT_BATCH = 500

export interface LoadOptions {
  /** Statements per staging batch. */
  batchSize?: number
  /** Larger manifests are left out (see changeStatements). */
  maxManifestBytes?: number
}

export async function loadSnapshotInto(store: SqlStore, lines: AsyncIterable<SnapshotLine>, options: LoadOptions = {}): Promise<LoadedSnapshot> {
  await store.batch(createStaging().map((sql) => ({ sql })))
  try {
    const loaded = await stage(store, lines, options)
    await store.batch([
      ...swapStaging().map((sql) => ({ sql })),
      meta(META.position, loaded.position),
      // Keep a head the follower already learned if it is ahead of this snapshot.
      { sql: `UPDATE meta SET value = max(value, ?) WHERE key = '${META.head}'`, params: [loaded.position] },
      meta(META.snapshotAt, loaded.takenAt),
      // Changes after the snapshot's position happened no earlier than shortly before it was taken.
      meta(META.behindSince, loaded.takenAt),
    ])
    return loaded
  } catch (err) {
    await store.batch(dropStaging().map((sql) => ({ sql }))).catch(() => {})
    throw err
  }
}

async function stage(store: SqlStore, lines: AsyncIterable<SnapshotLine>, { batchSize = DEFAULT_BATCH, maxManifestBytes }: LoadOptions): Promise<LoadedSnapshot> {
  let header: { position: number; takenAt: number } | null = null
  let records = 0
  let pending: SqlStatement[] = []
  const seen = new Set<string>()
  for await (const line of lines) {
    if (header === null) {
      if (line.type !== 'header') throw new SnapshotError(`snapshot starts with a ${line.type} line, not the header`)
      header = { position: line.position, takenAt: line.takenAt }
      continue
    }
    if (line.type === 'header') throw new SnapshotError('snapshot has a second header')
    if (line.type === 'end') {
      if (line.records !== records) throw new SnapshotError(`snapshot end says ${line.records} records, ${records} arrived`)
      if (pending.length > 0) await store.batch(pending)
      return { ...header, records }
    }
    records++
    pending.push(...snapshotStatements(line, seen, maxManifestBytes))
    if (pending.length >= batchSize) {
      await store.batch(pending)
      pending = []
    }
  }
  throw new SnapshotError(header === null ? 'snapshot is empty' : `snapshot ended after ${records} records without its end line`)
}

function meta(key: string, value: number): SqlStatement {
  return { sql: 'INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', params: [key, value] }
}
