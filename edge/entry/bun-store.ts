// SqlStore over `bun:sqlite`, Bun's built-in SQLite. Typed locally (bun-types is not loaded in the
// Node type environment); `query()` caches each statement inside Bun, so nothing is cached here.

import type { SqlStore, SqlValue } from '../index/sql-store.ts'

/** The part of bun:sqlite's Statement the store uses. */
interface BunStatement {
  all(...params: SqlValue[]): unknown[]
  run(...params: SqlValue[]): unknown
}

/** The part of bun:sqlite's Database the store uses. */
export interface BunDatabase {
  exec(sql: string): unknown
  query(sql: string): BunStatement
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void
  close(): void
}

export function bunStore(db: BunDatabase): SqlStore {
  const run = db.transaction((statements: { sql: string; params?: SqlValue[] }[]) => {
    for (const s of statements) db.query(s.sql).run(...(s.params ?? []))
  })
  return {
    async exec(sql) {
      db.exec(sql)
    },
    async all<T>(sql: string, params: SqlValue[] = []) {
      return db.query(sql).all(...params) as T[]
    },
    async batch(statements) {
      run(statements)
    },
    async close() {
      db.close()
    },
  }
}

const MODULE = 'bun:sqlite'

/** Opens (creating) the index file in WAL mode. */
export async function openBunStore(path: string): Promise<SqlStore> {
  const { Database } = (await import(MODULE)) as { Database: new (path: string) => BunDatabase }
  const db = new Database(path)
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = NORMAL')
  return bunStore(db)
}
