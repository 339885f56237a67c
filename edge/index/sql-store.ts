// The one thing a region index needs from a database: plain SQL, async so D1 fits. Each runtime's
// entry adapts its own SQLite (edge/entry/*: better-sqlite3 on Node, bun:sqlite, Deno's
// node:sqlite, D1 on Workers); the index itself (edge/index/sql-index.ts) is written once.

export type SqlValue = string | number | null | Uint8Array

export interface SqlStatement {
  sql: string
  params?: SqlValue[]
}

export interface SqlStore {
  /** Runs one or more statements without parameters (schema set-up). */
  exec(sql: string): Promise<void>
  /** Rows of one query, as objects keyed by column name. */
  all<T = Record<string, SqlValue>>(sql: string, params?: SqlValue[]): Promise<T[]>
  /** Runs the statements atomically, in order: all of them or none. */
  batch(statements: SqlStatement[]): Promise<void>
  close?(): Promise<void>
}
