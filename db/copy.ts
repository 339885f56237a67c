// `npm run db:copy`: moves a SQLite deployment's metadata into PostgreSQL (docs/db-copy.md).
// The source must be quiesced (no origin or worker running on it).
//
// Every table of db/schema.ts, parents first, in batches read by keyset (primary-key order, never
// OFFSET) and written in one target transaction each, with `on conflict (key) do nothing`: a batch
// that runs twice writes nothing the second time. Resumable without any progress bookkeeping:
// batches commit in the source's key order, so after a crash the target holds exactly the first N
// rows of each table in that order, and a rerun continues after the source's N-th key (once it has
// checked that key is really on the target; if not, it walks the whole table again, and the
// idempotent inserts skip what is there). Then each PostgreSQL sequence moves past the copied keys,
// and every table is verified: row counts and checksums (db/copy-checksum.ts) on both sides.

import type { Db } from './client.ts'
import { checksumTable, type TableSum } from './copy-checksum.ts'
import { batchRows, keyIndexes, tablePlans, tableSql, type TablePlan } from './copy-plan.ts'

/** The copy will not run, or stopped: the message says why and what to do. */
export class CopyRefused extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CopyRefused'
  }
}

export interface CopyProgress {
  table: string
  phase: 'copy' | 'verify'
  done: number
  total: number
  /** Rows per second since this table's phase began. */
  rate: number
  finished: boolean
}

export interface TableReport {
  table: string
  /** Rows this run inserted (0 for a table an earlier run finished). */
  copied: number
  /** Rows an earlier, interrupted run had already copied (where this run resumed). */
  resumedAfter: number
  source: TableSum
  target: TableSum
  ok: boolean
  /** Seconds spent copying this table, and its rate. */
  seconds: number
}

export interface CopyOptions {
  /** Rows per read and per target transaction. */
  batch?: number
  onProgress?: (p: CopyProgress) => void
  /** One line of news (a resumed table, a moved sequence). */
  onNote?: (text: string) => void
}

export async function copyDatabase(source: Db, target: Db, options: CopyOptions = {}): Promise<TableReport[]> {
  const { batch = 1000, onProgress = () => {}, onNote = () => {} } = options
  if (source.$dialect !== 'sqlite') throw new CopyRefused('the source is not a SQLite database (db:copy moves sqlite: to postgres://)')
  if (target.$dialect !== 'postgres') throw new CopyRefused('the target is not a PostgreSQL database (db:copy moves sqlite: to postgres://)')
  const plans = tablePlans()
  const copied = new Map<string, { copied: number; resumedAfter: number; seconds: number }>()
  for (const plan of plans) copied.set(plan.name, await copyTable(source, target, plan, batch, onProgress, onNote))
  for (const plan of plans) if (plan.serial) await moveSequence(target, plan, onNote)
  const reports: TableReport[] = []
  for (const plan of plans) {
    const [s, t] = await Promise.all([sumTable(source, plan, batch, onProgress), sumTable(target, plan, batch, () => {})])
    const ok = s.rows === t.rows && s.checksum === t.checksum
    reports.push({ table: plan.name, ...copied.get(plan.name)!, source: s, target: t, ok })
  }
  return reports
}

async function count(db: Db, plan: TablePlan): Promise<number> {
  const row = (await db.$execute(tableSql(plan).count, [], 'get')).rows as unknown[]
  return Number(row[0])
}

/** Where to start: after the source's key at the target's row count, when the target holds it. */
async function resumePoint(source: Db, target: Db, plan: TablePlan, total: number, onNote: (t: string) => void): Promise<{ after: unknown[] | null; rows: number }> {
  const sql = tableSql(plan)
  const have = await count(target, plan)
  if (have === 0) return { after: null, rows: 0 }
  const key = (await source.$execute(sql.keyAt, [have - 1], 'get')).rows as unknown[] | undefined
  if (key && (await target.$execute(sql.has, key, 'get')).rows !== undefined) {
    onNote(have >= total ? `${plan.name}: copied by an earlier run (${have} rows)` : `${plan.name}: resuming after the ${have} rows an earlier run copied`)
    return { after: key, rows: have }
  }
  onNote(`${plan.name}: the target already has ${have} rows that are not the start of this source; walking the whole table (rows already there are kept as they are, and verified)`)
  return { after: null, rows: 0 }
}

async function copyTable(
  source: Db, target: Db, plan: TablePlan, batch: number,
  onProgress: (p: CopyProgress) => void, onNote: (t: string) => void,
): Promise<{ copied: number; resumedAfter: number; seconds: number }> {
  const sql = tableSql(plan)
  const keys = keyIndexes(plan)
  const size = batchRows(plan, batch)
  const total = await count(source, plan)
  const start = await resumePoint(source, target, plan, total, onNote)
  const began = performance.now()
  let last = start.after
  let done = start.rows
  let inserted = 0
  const report = (finished: boolean): void => {
    const seconds = (performance.now() - began) / 1000
    onProgress({ table: plan.name, phase: 'copy', done, total, rate: seconds > 0 ? inserted / seconds : 0, finished })
  }
  for (;;) {
    const page = (await source.$execute(last ? sql.after : sql.first, last ? [...last, size] : [size], 'all')).rows as unknown[][]
    if (page.length === 0) break
    const params = page.flat()
    const text = sql.insert(page.length)
    try {
      inserted += await target.transaction(async (tx) => (await tx.$execute(text, params, 'run')).changes)
    } catch (err) {
      throw refusalFor(plan, err)
    }
    done += page.length
    last = keys.map((i) => page[page.length - 1][i])
    report(false)
    if (page.length < size) break
  }
  report(true)
  return { copied: inserted, resumedAfter: start.rows, seconds: (performance.now() - began) / 1000 }
}

/** A unique or foreign-key violation means the target holds other data: say so plainly. */
function refusalFor(plan: TablePlan, err: unknown): unknown {
  const code = (err as { code?: string }).code
  if (code === '23505' || code === '23503') {
    return new CopyRefused(
      `table ${plan.name}: the target already holds different rows (${(err as Error).message}). ` +
      'Copy into an empty PostgreSQL database (createdb, then DATABASE_URL to it); never into one an origin has already used.',
    )
  }
  return err
}

/** Sets the sequence behind an autoincrement key past the largest copied key. */
async function moveSequence(target: Db, plan: TablePlan, onNote: (t: string) => void): Promise<void> {
  const col = plan.serial!
  const rows = (await target.$execute(
    `select setval(pg_get_serial_sequence(?, ?), coalesce(max("${col}"), 0) + 1, false) from "${plan.name}"`,
    [plan.name, col], 'get',
  )).rows as unknown[]
  onNote(`${plan.name}.${col}: the next key is ${rows[0]}`)
}

async function sumTable(db: Db, plan: TablePlan, batch: number, onProgress: (p: CopyProgress) => void): Promise<TableSum> {
  const total = await count(db, plan)
  const began = performance.now()
  let done = 0
  const sum = await checksumTable(db, plan, batch * 5, (n) => {
    done += n
    const seconds = (performance.now() - began) / 1000
    onProgress({ table: plan.name, phase: 'verify', done, total, rate: seconds > 0 ? done / seconds : 0, finished: false })
  })
  onProgress({ table: plan.name, phase: 'verify', done, total, rate: 0, finished: true })
  return sum
}
