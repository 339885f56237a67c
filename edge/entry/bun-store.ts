// SqlStore over `bun:sqlite`, Bun's built-in SQLite. Typed locally (bun-types is not loaded in the
// Node type environment) and imported dynamically, so this file loads on any runtime.

import type { SqlStore } from '../index/sql-store.ts'
import { syncSqliteStore, useWal, type SyncStatement } from './sync-sqlite-store.ts'

/** The part of bun:sqlite's Database the store uses. */
export interface BunDatabase {
  prepare(sql: string): SyncStatement
  exec(sql: string): unknown
  transaction(fn: () => void): () => void
  close(): void
}

export function bunStore(db: BunDatabase): SqlStore {
  return syncSqliteStore({
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => void db.exec(sql),
    transaction: (fn) => db.transaction(fn)(),
    close: () => db.close(),
  })
}

const MODULE = 'bun:sqlite'

/** Opens (creating) the index file in WAL mode. */
export async function openBunStore(path: string): Promise<SqlStore> {
  const { Database } = (await import(MODULE)) as { Database: new (path: string) => BunDatabase }
  const db = new Database(path)
  useWal({ exec: (sql) => void db.exec(sql) })
  return bunStore(db)
}
