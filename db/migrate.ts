// Applies drizzle-kit's migrations at start-up: db/migrations (SQLite) or db/migrations-pg
// (PostgreSQL), both generated from the one schema (README "Changing the schema").

import type BetterSqlite3 from 'better-sqlite3'
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3'
import { migrate as migrateBetterSqlite } from 'drizzle-orm/better-sqlite3/migrator'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator'
import type pg from 'pg'
import { fileURLToPath } from 'node:url'

const SQLITE_MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url))
const POSTGRES_MIGRATIONS = fileURLToPath(new URL('./migrations-pg', import.meta.url))
/** pg_advisory_lock key: origins starting together migrate one at a time. */
const MIGRATION_LOCK = 7_302_011

export function migrateSqlite(sqlite: BetterSqlite3.Database): void {
  migrateBetterSqlite(drizzleSqlite(sqlite), { migrationsFolder: SQLITE_MIGRATIONS })
}

export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const lock = await pool.connect()
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    await migrateNodePg(drizzlePg(pool), { migrationsFolder: POSTGRES_MIGRATIONS })
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {})
    lock.release()
  }
}
