// SqlStore over `node:sqlite` (DatabaseSync): Deno 2's built-in SQLite, also in Node 22.13+ and 24.
// Typed locally because @types/node 20 does not declare the module, and imported dynamically so
// this file also loads where it is absent (opening fails then, saying why).

import type { SqlStore } from '../index/sql-store.ts'
import { syncSqliteStore, useWal, type SyncStatement } from './sync-sqlite-store.ts'

/** The part of node:sqlite's DatabaseSync the store uses. */
export interface DatabaseSync {
  exec(sql: string): void
  prepare(sql: string): SyncStatement
  close(): void
}

export function nodeSqliteStore(db: DatabaseSync): SqlStore {
  return syncSqliteStore({
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => db.exec(sql),
    // node:sqlite has no transaction helper: BEGIN/COMMIT by hand.
    transaction: (fn) => {
      db.exec('BEGIN IMMEDIATE')
      try {
        fn()
        db.exec('COMMIT')
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
    },
    close: () => db.close(),
  })
}

const MODULE = 'node:sqlite'

/** Opens (creating) the index file in WAL mode. */
export async function openDenoStore(path: string): Promise<SqlStore> {
  const { DatabaseSync } = (await import(MODULE)) as { DatabaseSync: new (path: string) => DatabaseSync }
  const db = new DatabaseSync(path)
  useWal(db)
  return nodeSqliteStore(db)
}
