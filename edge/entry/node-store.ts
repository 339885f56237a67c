// SqlStore over better-sqlite3 for Node edges, loaded through db/sqlite-driver.ts (which picks the
// build that is safe on the running Node).

import { loadSqliteDriver } from '../../db/sqlite-driver.ts'
import type { SqlStore, SqlValue } from '../index/sql-store.ts'
import { syncSqliteStore, useWal } from './sync-sqlite-store.ts'

/** Opens (creating) the index file in WAL mode. */
export function openNodeStore(path: string): SqlStore {
  const db = new (loadSqliteDriver())(path)
  useWal(db)
  return syncSqliteStore({
    prepare: (sql) => db.prepare<SqlValue[]>(sql),
    exec: (sql) => void db.exec(sql),
    transaction: (fn) => db.transaction(fn)(),
    close: () => void db.close(),
  })
}
