// SqlStore over better-sqlite3 for Node edges (loaded through db/sqlite-driver.ts, which picks the
// build that is safe on the running Node). WAL so readers never wait for the follower's writes;
// statements prepared once per SQL text, since the index only ever sends constant SQL.

import type BetterSqlite3 from 'better-sqlite3'
import { loadSqliteDriver } from '../../db/sqlite-driver.ts'
import type { SqlStatement, SqlStore, SqlValue } from '../index/sql-store.ts'

export function openNodeStore(path: string): SqlStore {
  const Driver = loadSqliteDriver()
  const db = new Driver(path)
  db.pragma('journal_mode = WAL')
  // WAL + NORMAL: a power cut may lose the last pages applied, never corrupt; the feed replays them.
  db.pragma('synchronous = NORMAL')
  const prepared = new Map<string, BetterSqlite3.Statement>()
  const prepare = (sql: string): BetterSqlite3.Statement => {
    let statement = prepared.get(sql)
    if (!statement) {
      statement = db.prepare(sql)
      prepared.set(sql, statement)
    }
    return statement
  }
  const run = db.transaction((statements: SqlStatement[]) => {
    for (const s of statements) prepare(s.sql).run(...(s.params ?? []))
  })
  return {
    async exec(sql) {
      db.exec(sql)
    },
    async all<T>(sql: string, params: SqlValue[] = []) {
      return prepare(sql).all(...params) as T[]
    },
    async batch(statements) {
      // DDL in a batch (schema rebuild, snapshot staging) invalidates cached statements' plans;
      // SQLite re-prepares them itself, so the cache stays valid.
      run(statements)
    },
    async close() {
      prepared.clear()
      db.close()
    },
  }
}
