// The SqlStore every synchronous SQLite binding shares (better-sqlite3, bun:sqlite, node:sqlite):
// statements prepared once per SQL text (the index only sends constant SQL), a batch run inside
// one transaction with nothing awaited in it. Each runtime's file only adapts its binding.

import type { SqlStore, SqlValue } from '../index/sql-store.ts'

export interface SyncStatement {
  all(...params: SqlValue[]): unknown[]
  run(...params: SqlValue[]): unknown
}

export interface SyncSqlite {
  prepare(sql: string): SyncStatement
  exec(sql: string): void
  /** Runs `fn` in one transaction: committed if it returns, rolled back if it throws. */
  transaction(fn: () => void): void
  close(): void
}

/** WAL so readers never wait for the follower's writes; NORMAL: a power cut may lose the last
 * pages applied, never corrupt the file, and the feed replays them. */
export function useWal(db: Pick<SyncSqlite, 'exec'>): void {
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = NORMAL')
}

export function syncSqliteStore(db: SyncSqlite): SqlStore {
  const prepared = new Map<string, SyncStatement>()
  const prepare = (sql: string): SyncStatement => {
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
      // DDL in a batch (schema rebuild, snapshot staging) leaves cached statements valid: SQLite
      // re-prepares a statement whose schema changed on its next run.
      db.transaction(() => {
        for (const s of statements) prepare(s.sql).run(...(s.params ?? []))
      })
    },
    async close() {
      prepared.clear()
      db.close()
    },
  }
}
