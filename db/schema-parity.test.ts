// db/schema.ts (SQLite, what every query is written with) and db/schema-pg.ts (its PostgreSQL
// mirror, read only by drizzle-kit) must declare the same database: a column added to one and not
// the other would run on SQLite and fail on PostgreSQL, or silently differ (a default, a unique
// index). Each table is reduced to a dialect-neutral description and the two are compared; then
// drizzle-kit is asked whether each migrations folder's snapshot still matches its schema (a schema
// edited without `npm run db:generate`).

import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { is, SQL } from 'drizzle-orm'
import { getTableConfig as sqliteConfig, SQLiteSyncDialect, SQLiteTable, type SQLiteColumn } from 'drizzle-orm/sqlite-core'
import { getTableConfig as pgConfig, PgDialect, PgTable, type PgColumn } from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import * as sqliteSchema from './schema.ts'
import * as pgSchema from './schema-pg.ts'
import sqliteKitConfig from '../drizzle.config.ts'
import pgKitConfig from '../drizzle.pg.config.ts'

/** SQLite's declared type, and the PostgreSQL types that hold the same values. */
const TYPE_PAIRS: Record<string, string[]> = {
  integer: ['bigint', 'bigserial'], // millisecond times and sizes pass 2^31; booleans are 0/1 on both
  text: ['text'],
  blob: ['bytea'],
}

interface ForeignKey { name: string; columns: string[]; table: string; foreignColumns: string[]; onDelete: string; onUpdate: string }

/** One table as both dialects can state it (column and index names, keys, SQL text normalised). */
interface TableShape {
  name: string
  columns: Record<string, { key: string; type: string; notNull: boolean; primary: boolean; autoIncrement: boolean; default: unknown; defaultFn: boolean; unique: string | null; enumValues: string[] | null }>
  primaryKeys: { name: string; columns: string[] }[]
  uniqueConstraints: { name: string; columns: string[] }[]
  indexes: { name: string; columns: string[]; unique: boolean; where: string | null }[]
  foreignKeys: ForeignKey[]
}

/** Placeholders as `?` on both (PostgreSQL's dialect numbers them). */
function sqlText(q: { sql: string; params: unknown[] }): string {
  return `${q.sql.replace(/\$\d+/g, '?')} ${JSON.stringify(q.params)}`
}

/** A default as a value both engines store: booleans are 0/1 integers on both. */
function defaultOf(value: unknown, render: (s: SQL) => string): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (is(value, SQL)) return render(value)
  return value
}

const byName = <T extends { name: string }>(list: T[]) => [...list].sort((a, b) => a.name.localeCompare(b.name))

/** What both dialects' table configs say about keys, indexes and foreign keys, in one shape. */
interface ConstraintSource {
  primaryKeys: { getName(): string; columns: { name: string }[] }[]
  uniqueConstraints: { getName(): string | undefined; columns: { name: string }[] }[]
  indexes: { config: { name?: string; columns: unknown[]; unique: boolean; where?: SQL } }[]
  foreignKeys: { getName(): string; onDelete?: string; onUpdate?: string; reference(): { columns: { name: string }[]; foreignColumns: { name: string }[]; foreignTable: unknown } }[]
}

function constraintsOf(c: ConstraintSource, render: (s: SQL) => string, tableName: (table: unknown) => string): Omit<TableShape, 'name' | 'columns'> {
  return {
    primaryKeys: byName(c.primaryKeys.map((pk) => ({ name: pk.getName(), columns: pk.columns.map((x) => x.name) }))),
    uniqueConstraints: byName(c.uniqueConstraints.map((u) => ({ name: u.getName() ?? '', columns: u.columns.map((x) => x.name) }))),
    indexes: byName(c.indexes.map((i) => ({
      name: i.config.name ?? '',
      columns: i.config.columns.map((x) => (is(x, SQL) ? render(x) : (x as { name: string }).name)),
      unique: i.config.unique,
      where: i.config.where ? render(i.config.where) : null,
    }))),
    foreignKeys: byName(c.foreignKeys.map((fk) => {
      const r = fk.reference()
      return {
        name: fk.getName(), columns: r.columns.map((x) => x.name), table: tableName(r.foreignTable),
        foreignColumns: r.foreignColumns.map((x) => x.name), onDelete: fk.onDelete ?? 'no action', onUpdate: fk.onUpdate ?? 'no action',
      }
    })),
  }
}

function sqliteShape(table: SQLiteTable): TableShape {
  const c = sqliteConfig(table)
  const dialect = new SQLiteSyncDialect()
  const render = (s: SQL) => sqlText(dialect.sqlToQuery(s))
  const keyOf = new Map(Object.entries(table).map(([k, col]) => [col as unknown, k]))
  const columns: TableShape['columns'] = {}
  for (const col of c.columns as SQLiteColumn[]) {
    const type = col.getSQLType()
    columns[col.name] = {
      key: keyOf.get(col) as string,
      type: type === 'integer' && (col as { autoIncrement?: boolean }).autoIncrement ? 'integer autoincrement' : type,
      notNull: col.notNull,
      primary: col.primary,
      autoIncrement: Boolean((col as { autoIncrement?: boolean }).autoIncrement),
      default: defaultOf(col.default, render),
      defaultFn: Boolean(col.defaultFn),
      unique: col.isUnique ? (col.uniqueName ?? '') : null,
      enumValues: col.enumValues ?? null,
    }
  }
  return { name: c.name, columns, ...constraintsOf(c as unknown as ConstraintSource, render, (t) => sqliteConfig(t as SQLiteTable).name) }
}

function pgShape(table: PgTable): TableShape {
  const c = pgConfig(table)
  const dialect = new PgDialect()
  const render = (s: SQL) => sqlText(dialect.sqlToQuery(s))
  const keyOf = new Map(Object.entries(table).map(([k, col]) => [col as unknown, k]))
  const columns: TableShape['columns'] = {}
  for (const col of c.columns as PgColumn[]) {
    const type = col.getSQLType()
    columns[col.name] = {
      key: keyOf.get(col) as string,
      type: type === 'bigserial' ? 'integer autoincrement' : (Object.keys(TYPE_PAIRS).find((t) => TYPE_PAIRS[t].includes(type)) ?? `pg:${type}`),
      notNull: col.notNull,
      primary: col.primary,
      // A serial column's default is its sequence; SQLite's AUTOINCREMENT is the same promise.
      autoIncrement: type === 'bigserial',
      default: type === 'bigserial' ? undefined : defaultOf(col.default, render),
      defaultFn: Boolean(col.defaultFn),
      unique: col.isUnique ? (col.uniqueName ?? '') : null,
      enumValues: col.enumValues ?? null,
    }
  }
  return { name: c.name, columns, ...constraintsOf(c as unknown as ConstraintSource, render, (t) => pgConfig(t as PgTable).name) }
}

const sqliteTables = Object.entries(sqliteSchema).filter(([, v]) => is(v, SQLiteTable)) as [string, SQLiteTable][]
const pgTables = Object.entries(pgSchema).filter(([, v]) => is(v, PgTable)) as [string, PgTable][]

describe('db/schema.ts and db/schema-pg.ts declare the same database', () => {
  it('export the same tables under the same names', () => {
    expect(sqliteTables.length).toBeGreaterThan(10)
    const names = (tables: [string, SQLiteTable | PgTable][], config: (t: never) => { name: string }) =>
      tables.map(([key, t]) => `${key} = ${config(t as never).name}`).sort()
    expect(names(pgTables, pgConfig as never)).toEqual(names(sqliteTables, sqliteConfig as never))
  })

  it.each(sqliteTables.map(([key]) => key))('%s: same columns, types, nullability, defaults, keys, indexes', (key) => {
    const lite = sqliteShape(sqliteSchema[key as keyof typeof sqliteSchema] as SQLiteTable)
    const pgTable = pgSchema[key as keyof typeof pgSchema]
    expect(pgTable, `db/schema-pg.ts lacks table ${key}`).toBeDefined()
    expect(pgShape(pgTable as PgTable)).toEqual(lite)
  })
})

const root = fileURLToPath(new URL('..', import.meta.url))
const drizzleKit = join(root, 'node_modules', '.bin', 'drizzle-kit')

/**
 * Runs `drizzle-kit generate` against a copy of `folder`: the snapshot matches the schema when it
 * writes nothing. (The copy: a drift must fail the test, not leave a migration in the tree. The
 * relative paths: drizzle-kit prefixes `--out` with `./`.)
 */
function pendingMigration(config: { dialect: string; schema?: string | string[]; out?: string }): { files: string[]; output: string } {
  const { dialect, schema, out: folder } = config
  if (typeof schema !== 'string' || !folder) throw new Error('a drizzle-kit config with one schema file and an out folder')
  const dir = mkdtempSync(join(tmpdir(), 'meridian-drizzle-kit-'))
  try {
    cpSync(join(root, folder), join(dir, 'out'), { recursive: true })
    const before = readdirSync(join(dir, 'out'), { recursive: true }).map(String).sort()
    const output = execFileSync(drizzleKit, ['generate', '--dialect', dialect, '--schema', relative(dir, join(root, schema)), '--out', 'out'], {
      cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000,
    })
    const after = readdirSync(join(dir, 'out'), { recursive: true }).map(String).sort()
    return { files: after.filter((f) => !before.includes(f)), output }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('each migrations folder matches its schema (drizzle-kit generate writes nothing)', () => {
  // drizzle-kit exits 0 even when it fails to read a folder: the message is the proof.
  it('db/migrations (drizzle.config.ts: db/schema.ts)', () => {
    expect(sqliteKitConfig).toMatchObject({ dialect: 'sqlite', schema: './db/schema.ts', out: './db/migrations' })
    const r = pendingMigration(sqliteKitConfig)
    expect(r.files).toEqual([])
    expect(r.output).toContain('No schema changes')
  })

  it('db/migrations-pg (drizzle.pg.config.ts: db/schema-pg.ts)', () => {
    expect(pgKitConfig).toMatchObject({ dialect: 'postgresql', schema: './db/schema-pg.ts', out: './db/migrations-pg' })
    const r = pendingMigration(pgKitConfig)
    expect(r.files).toEqual([])
    expect(r.output).toContain('No schema changes')
  })
})
