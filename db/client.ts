// Opens the origin database: better-sqlite3 (the embedded default) with WAL, migrations applied.
// Which better-sqlite3 build depends on the running Node: db/sqlite-driver.ts.

import type Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as schema from './schema.ts'
import { loadSqliteDriver } from './sqlite-driver.ts'

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database }

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url))

/** `url` is `sqlite:<path>`, a bare path, or `:memory:`. */
export function openDatabase(url: string): Db {
  if (/^postgres(ql)?:/.test(url)) {
    throw new Error('PostgreSQL is not supported yet: use sqlite:<path> (the scale-out issue adds it)')
  }
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const Sqlite = loadSqliteDriver()
  const sqlite = new Sqlite(path)
  sqlite.pragma('journal_mode = WAL')
  // FULL: a commit that returned survives power loss, not only a process crash (§4.3).
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  const db = drizzle(sqlite, { schema }) as Db
  // Every transaction here writes. BEGIN IMMEDIATE takes the write lock up front, so a second
  // process (npm run worker, a script) waits busy_timeout for it; a deferred transaction that
  // reads first fails at once with SQLITE_BUSY_SNAPSHOT when another process wrote meanwhile.
  const transaction = db.transaction.bind(db)
  db.transaction = ((fn, config) => transaction(fn, { behavior: 'immediate', ...config })) as Db['transaction']
  migrate(db, { migrationsFolder: MIGRATIONS })
  return db
}

export function closeDatabase(db: Db): void {
  db.$client.close()
}
