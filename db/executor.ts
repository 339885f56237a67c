// What db/client.ts needs from a database connection: run one statement (drizzle's SQL, written by
// its SQLite dialect, `?` placeholders), and run a function inside one transaction. One
// implementation per engine: db/sqlite-executor.ts (embedded default), db/postgres-executor.ts.

export type Dialect = 'sqlite' | 'postgres'

/**
 * drizzle's methods ('all'/'values': rows as arrays, 'get': the first row as an array or
 * undefined, 'run': no rows, `changes` counted), plus 'objects': rows as plain objects keyed by
 * column name (raw SQL written in db/queries).
 */
export type Method = 'run' | 'all' | 'values' | 'get' | 'objects'

export interface StatementResult {
  rows: unknown
  /** Rows the statement inserted, updated or deleted ('run'). */
  changes: number
}

export interface Executor {
  readonly dialect: Dialect
  query(sql: string, params: unknown[], method: Method): Promise<StatementResult>
  /**
   * Runs `fn` with an executor bound to one transaction; commits when it resolves, rolls back when
   * it throws. Transactions are serializable on both engines. `fn` may run more than once (a
   * PostgreSQL serialization failure is retried), so it must do nothing but database work.
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** Thrown by a statement issued on a transaction that has already ended (a missing `await`). */
export class TransactionEnded extends Error {
  constructor(sql: string) {
    super(`statement after its transaction ended (a missing await?): ${sql.slice(0, 120)}`)
    this.name = 'TransactionEnded'
  }
}
