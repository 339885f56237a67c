// Opens the origin database: SQLite (the embedded default, `sqlite:<path>`) or PostgreSQL
// (`postgres://…`, scale-out), migrations applied, behind one async drizzle handle.
//
// Queries are written once (db/queries), with drizzle's SQLite schema and builders, and run on
// either engine: drizzle's SQLite dialect writes standard SQL that PostgreSQL also runs once its
// placeholders are numbered (db/postgres-executor.ts); db/schema-pg.ts declares the same tables
// for PostgreSQL, and db/schema-parity.test.ts keeps the two identical. Nothing outside db/ knows
// which engine it talks to.

import { SqliteRemoteDatabase, SQLiteRemoteSession } from 'drizzle-orm/sqlite-proxy'
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core'
import { SQLiteAsyncDialect, SQLiteSyncDialect } from 'drizzle-orm/sqlite-core'
import { createTableRelationsHelpers, extractTablesRelationalConfig, type SQL } from 'drizzle-orm'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import * as schema from './schema.ts'
import type { Dialect, Executor, Method } from './executor.ts'
import { openSharedSqliteExecutor } from './sqlite-executor.ts'
import { openPostgresExecutor, type PostgresExecutor } from './postgres-executor.ts'
import { migrateSqlite, migratePostgres } from './migrate.ts'

export type { Dialect } from './executor.ts'

/** What a 'run' resolves to: rows changed (inserted, updated or deleted). */
export type RunResult = { rows: unknown[]; changes: number }

type Drizzle = BaseSQLiteDatabase<'async', RunResult, typeof schema>

export interface DbExtras {
  readonly $dialect: Dialect
  /** True for a transaction's handle. */
  readonly $inTransaction: boolean
  /** A transaction's handle: work run, in order, after the body and just before COMMIT. */
  readonly $beforeCommit: Array<() => Promise<void>>
  /** Runs raw SQL text (`?` placeholders) as written; see Method. */
  $execute(text: string, params: unknown[], method: Method): Promise<{ rows: unknown; changes: number }>
  /** Rows of a raw `sql` query as objects keyed by column name. */
  $all<T>(query: SQL): Promise<T[]>
  /**
   * Runs `fn` in one serializable transaction and returns its result. `fn` may run again after a
   * PostgreSQL serialization failure: it must do only database work through `tx`.
   */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>
  /** The executor below (db/ only). */
  readonly $executor: Executor
}

export type Db = Omit<Drizzle, 'transaction'> & DbExtras
/** A transaction's handle, or the database itself where a single statement is atomic enough. */
export type Tx = Db

const dialect = new SQLiteSyncDialect()
const asyncDialect = new SQLiteAsyncDialect()
// What drizzle() in drizzle-orm/sqlite-proxy derives from the schema on every call: done once here,
// since every transaction gets a handle of its own (drizzle() per transaction walked every table).
const tables = extractTablesRelationalConfig(schema, createTableRelationsHelpers)
const relational = { fullSchema: schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap }

function dbOver(executor: Executor, inTransaction = false): Db {
  const session = new SQLiteRemoteSession(
    (text: string, params: unknown[], method: Method) => executor.query(text, params, method) as Promise<{ rows: any[] }>,
    asyncDialect, relational, undefined,
  )
  const db = new SqliteRemoteDatabase('async', asyncDialect, session, relational) as unknown as Db
  const extras: DbExtras = {
    $dialect: executor.dialect,
    $inTransaction: inTransaction,
    $beforeCommit: [],
    $executor: executor,
    $execute: (text, params, method) => executor.query(text, params, method),
    async $all<T>(query: SQL) {
      const q = dialect.sqlToQuery(query)
      return (await executor.query(q.sql, q.params, 'objects')).rows as T[]
    },
    transaction: (fn) => executor.transaction(async (txExecutor) => {
      const tx = dbOver(txExecutor, true)
      const result = await fn(tx)
      for (const work of tx.$beforeCommit) await work()
      return result
    }),
  }
  return Object.assign(db, extras)
}

/** `url` is `sqlite:<path>`, a bare path, `:memory:`, or `postgres://…` / `postgresql://…`. */
export async function openDatabase(url: string): Promise<Db> {
  if (/^postgres(ql)?:/.test(url)) {
    const executor = openPostgresExecutor(url)
    try {
      await migratePostgres(executor.pool)
    } catch (err) {
      await executor.close()
      throw err
    }
    return dbOver(executor)
  }
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  // Migrated when the process first opens the file, never inside another handle's transaction.
  return dbOver(openSharedSqliteExecutor(path, migrateSqlite))
}

export async function closeDatabase(db: Db): Promise<void> {
  await db.$executor.close()
}

/** PostgreSQL's LISTEN, for db/ (null on SQLite: there the origin signals in process). */
export function postgresOf(db: Db): PostgresExecutor | null {
  return db.$dialect === 'postgres' ? (db.$executor as PostgresExecutor) : null
}
