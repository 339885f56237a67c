// SqlStore over `node:sqlite` (DatabaseSync): Deno 2's built-in SQLite, also in Node 22.13+/24.
// Typed locally because @types/node 20 does not declare the module; the module is imported
// dynamically so this file also loads where it is absent (open fails then, with the reason).

import type { SqlStore, SqlValue } from '../index/sql-store.ts'

/** The part of node:sqlite's StatementSync the store uses. */
interface StatementSync {
  all(...params: SqlValue[]): unknown[]
  run(...params: SqlValue[]): unknown
}

/** The part of node:sqlite's DatabaseSync the store uses. */
export interface DatabaseSync {
  exec(sql: string): void
  prepare(sql: string): StatementSync
  close(): void
}

/** A store over an open DatabaseSync (WAL is the caller's choice; openDenoStore sets it). */
export function nodeSqliteStore(db: DatabaseSync): SqlStore {
  const prepared = new Map<string, StatementSync>()
  const prepare = (sql: string): StatementSync => {
    let statement = prepared.get(sql)
    if (!statement) prepared.set(sql, (statement = db.prepare(sql)))
    return statement
  }
  return {
    async exec(sql) {
      db.exec(sql)
    },
    async all<T>(sql: string, params: SqlValue[] = []) {
      return prepare(sql).all(...params) as T[]
    },
    async batch(statements) {
      // No transaction helper in node:sqlite: BEGIN/COMMIT by hand, nothing awaited in between.
      db.exec('BEGIN IMMEDIATE')
      try {
        for (const s of statements) prepare(s.sql).run(...(s.params ?? []))
        db.exec('COMMIT')
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
    },
    async close() {
      prepared.clear()
      db.close()
    },
  }
}

const MODULE = 'node:sqlite'

/** Opens (creating) the index file in WAL mode. */
export async function openDenoStore(path: string): Promise<SqlStore> {
  const { DatabaseSync } = (await import(MODULE)) as { DatabaseSync: new (path: string) => DatabaseSync }
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = NORMAL')
  return nodeSqliteStore(db)
}
