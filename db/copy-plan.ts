// What `npm run db:copy` copies, read from db/schema.ts itself (so a table added to the schema is
// copied without touching the copier): every table, its columns, its primary key, its serial key,
// in foreign-key order (a table after every table it references), plus the SQL each step runs.
// The SQL is the same text on both engines (`?` placeholders, double-quoted identifiers, row-value
// comparisons), which SQLite and PostgreSQL both run; the PostgreSQL executor numbers placeholders.

import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as schema from './schema.ts'

export interface TablePlan {
  name: string
  /** Column names in schema order: the order rows are read, written and hashed in. */
  columns: string[]
  /** Primary-key column names, in key order (the keyset the copy walks). */
  key: string[]
  /** The column a PostgreSQL sequence feeds (an autoincrement key), or null. */
  serial: string | null
  /** Tables this one references. */
  parents: string[]
  /** Holds a blob column (manifests.payload, up to 4 MiB a row): read in small batches. */
  bytes: boolean
}

/** Rows per batch for tables with a blob column: bounded memory, 50 × 4 MiB at worst. */
const BYTES_BATCH = 50
/** PostgreSQL takes at most 65,535 parameters per statement. */
const MAX_PARAMS = 60_000

/** How many rows of this table one batch reads (and writes), for a wanted batch size. */
export function batchRows(plan: TablePlan, wanted: number): number {
  return Math.max(1, Math.min(wanted, Math.floor(MAX_PARAMS / plan.columns.length), plan.bytes ? BYTES_BATCH : Infinity))
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`

export function tablePlans(): TablePlan[] {
  const plans = (Object.values(schema) as unknown[])
    .filter((t): t is SQLiteTable => t instanceof SQLiteTable)
    .map((table): TablePlan => {
      const config = getTableConfig(table)
      const columns = config.columns.map((c) => c.name)
      const single = config.columns.filter((c) => c.primary).map((c) => c.name)
      const composite = config.primaryKeys[0]?.columns.map((c) => c.name) ?? []
      const key = single.length ? single : composite
      if (!key.length) throw new Error(`db/schema.ts: table ${config.name} has no primary key; the copy walks tables by key`)
      const serial = config.columns.find((c) => c.primary && (c as { autoIncrement?: boolean }).autoIncrement)?.name ?? null
      const parents = [...new Set(config.foreignKeys.map((fk) => getTableConfig(fk.reference().foreignTable).name))]
        .filter((p) => p !== config.name)
      const bytes = config.columns.some((c) => c.getSQLType() === 'blob')
      return { name: config.name, columns, key, serial, parents, bytes }
    })
  return inForeignKeyOrder(plans)
}

/** Parents first; otherwise the schema module's (alphabetical) order: a stable topological sort. */
function inForeignKeyOrder(plans: TablePlan[]): TablePlan[] {
  const done = new Set<string>()
  const out: TablePlan[] = []
  while (out.length < plans.length) {
    const next = plans.find((p) => !done.has(p.name) && p.parents.every((parent) => done.has(parent)))
    if (!next) throw new Error('db/schema.ts: foreign keys form a cycle; the copy cannot order its tables')
    done.add(next.name)
    out.push(next)
  }
  return out
}

/** The SQL text of each step for one table. */
export function tableSql(plan: TablePlan) {
  const table = quote(plan.name)
  const cols = plan.columns.map(quote).join(', ')
  const keyCols = plan.key.map(quote)
  const keyTuple = keyCols.length === 1 ? keyCols[0] : `(${keyCols.join(', ')})`
  const keyParams = keyCols.length === 1 ? '?' : `(${keyCols.map(() => '?').join(', ')})`
  const orderBy = keyCols.join(', ')
  const row = `(${plan.columns.map(() => '?').join(', ')})`
  return {
    count: `select count(*) from ${table}`,
    /** The first `limit` rows in key order (params: limit). */
    first: `select ${cols} from ${table} order by ${orderBy} limit ?`,
    /** The next `limit` rows after a key (params: ...key, limit). */
    after: `select ${cols} from ${table} where ${keyTuple} > ${keyParams} order by ${orderBy} limit ?`,
    /** The key of the row at an offset in key order (params: offset). */
    keyAt: `select ${keyCols.join(', ')} from ${table} order by ${orderBy} limit 1 offset ?`,
    /** Whether a key is present (params: ...key). */
    has: `select 1 from ${table} where ${keyCols.map((k) => `${k} = ?`).join(' and ')}`,
    /** An idempotent insert of `rows` rows: a key already there is left as it is. */
    insert: (rows: number) =>
      `insert into ${table} (${cols}) values ${Array.from({ length: rows }, () => row).join(', ')} on conflict (${orderBy}) do nothing`,
  }
}

/** Positions of the key columns within a row. */
export function keyIndexes(plan: TablePlan): number[] {
  return plan.key.map((k) => plan.columns.indexOf(k))
}
