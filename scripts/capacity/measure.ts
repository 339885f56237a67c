// Bytes on disk per table and per index. SQLite: the dbstat virtual table (pages of each b-tree,
// https://www.sqlite.org/dbstat.html; better-sqlite3 is built with it). PostgreSQL:
// pg_relation_size of each table, its TOAST table and each index (main fork; the free-space and
// visibility maps are in the total, pg_total_relation_size).

import { sql } from 'drizzle-orm'
import { statSync } from 'node:fs'
import type { Db } from '../../db/client.ts'

export interface TableSize { table: string; heapBytes: number; toastBytes: number; indexes: Record<string, number>; totalBytes: number }
export interface Sizes { tables: TableSize[]; databaseBytes: number }

type Query = <T>(text: string) => Promise<T[]>

/** dbstat over any SQLite connection: `query` runs one raw statement and returns its rows. */
export async function sqliteSizes(query: Query, file: string): Promise<Sizes> {
  await query('PRAGMA wal_checkpoint(TRUNCATE)')
  const owners = new Map((await query<{ name: string; tbl_name: string; type: string }>("SELECT name, tbl_name, type FROM sqlite_master WHERE type IN ('table', 'index')")).map((r) => [r.name, r]))
  const pages = await query<{ name: string; bytes: number }>('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name')
  const tables = new Map<string, TableSize>()
  const entry = (t: string) => tables.get(t) ?? tables.set(t, { table: t, heapBytes: 0, toastBytes: 0, indexes: {}, totalBytes: 0 }).get(t)!
  for (const p of pages) {
    const owner = owners.get(p.name)
    if (!owner) continue // sqlite_schema itself
    const t = entry(owner.tbl_name)
    if (owner.type === 'table') t.heapBytes += Number(p.bytes)
    else t.indexes[p.name] = Number(p.bytes)
    t.totalBytes += Number(p.bytes)
  }
  return { tables: [...tables.values()].filter((t) => t.totalBytes > 0), databaseBytes: statSync(file).size }
}

export function measureSqlite(db: Db, file: string): Promise<Sizes> {
  return sqliteSizes(<T>(text: string) => db.$all<T>(sql.raw(text)), file)
}

export async function measurePostgres(db: Db): Promise<Sizes> {
  const rows = await db.$all<{ table: string; heap: string; toast: string; total: string }>(sql.raw(`
    SELECT c.relname AS "table", pg_relation_size(c.oid) AS heap,
           COALESCE(pg_total_relation_size(c.reltoastrelid), 0) AS toast, pg_total_relation_size(c.oid) AS total
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'r'`))
  const indexes = await db.$all<{ table: string; index: string; bytes: string }>(sql.raw(`
    SELECT t.relname AS "table", c.relname AS "index", pg_relation_size(c.oid) AS bytes
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'`))
  const tables = rows.map((r) => ({
    table: r.table, heapBytes: Number(r.heap), toastBytes: Number(r.toast), totalBytes: Number(r.total),
    indexes: Object.fromEntries(indexes.filter((i) => i.table === r.table).map((i) => [i.index, Number(i.bytes)])),
  })).filter((t) => t.totalBytes > 8192 * 4)
  const [{ size }] = await db.$all<{ size: string }>(sql.raw('SELECT pg_database_size(current_database()) AS size'))
  return { tables, databaseBytes: Number(size) }
}
