// Which database a test's origin uses. The whole suite runs on both engines (README "Testing"):
// SQLite by default, PostgreSQL with MERIDIAN_TEST_DATABASE=postgres, when
// test/setup/postgres-global.ts has started one throwaway cluster for the run and put its admin
// URL in MERIDIAN_TEST_POSTGRES_URL. Each call then makes a fresh database, a copy of one already
// migrated (template), so tests never share rows and never wait for migrations.

import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeDatabase, openDatabase, type Db } from '../../db/client.ts'
import { createDatabase } from './postgres.ts'

export const TEMPLATE_DATABASE = 'meridian_template'

export function testDatabaseKind(): 'sqlite' | 'postgres' {
  return process.env.MERIDIAN_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite'
}

/** `sqlite:<dir>/<file>`, or the URL of a new, migrated, empty PostgreSQL database. */
export async function testDatabaseUrl(dir: string, file = 'meridian.db'): Promise<string> {
  if (testDatabaseKind() === 'sqlite') return `sqlite:${join(dir, file)}`
  const admin = process.env.MERIDIAN_TEST_POSTGRES_URL
  if (!admin) throw new Error('MERIDIAN_TEST_DATABASE=postgres needs the cluster test/setup/postgres-global.ts starts (run through vitest)')
  const name = `t_${randomBytes(6).toString('hex')}`
  await createDatabase(admin, name, TEMPLATE_DATABASE)
  return admin.replace(/\/[^/]*$/, `/${name}`)
}

export interface TestDatabase {
  db: Db
  /** The temp dir the database (SQLite) lives in; removed by close(). */
  dir: string
  url: string
  close(): Promise<void>
}

/** A fresh database in a fresh temp dir (SQLite or PostgreSQL, as above), for unit tests. */
export async function openTestDatabase(prefix = 'meridian-db-'): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const url = await testDatabaseUrl(dir)
  const db = await openDatabase(url)
  return {
    db, dir, url,
    async close() {
      await closeDatabase(db)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
