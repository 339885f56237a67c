// The checksum `npm run db:copy` compares on both sides: SHA-256 of each row serialized
// canonically, summed modulo 2^256. A sum does not depend on the order rows are read in, and that
// is the point: SQLite orders text keys by bytes, PostgreSQL by its database's collation
// (en_US.UTF-8 puts 'a-b' and 'a/b' elsewhere), so "the rows in key order" is not one order on the
// two engines. With equal row counts and unique keys on each side, equal sums mean equal sets of
// rows (a different, missing or extra row changes the sum but with probability 2^-256).

import { createHash } from 'node:crypto'
import type { Db } from './client.ts'
import type { TablePlan } from './copy-plan.ts'
import { batchRows, keyIndexes, tableSql } from './copy-plan.ts'

const MOD = 1n << 256n

/** One value as both engines give it back: integers, text, bytes (hex) and null, each tagged. */
function canonical(value: unknown): string {
  if (value === null || value === undefined) return 'n'
  if (typeof value === 'number') return Number.isInteger(value) ? `i${value}` : `f${value}`
  if (typeof value === 'bigint') return `i${value}`
  if (typeof value === 'string') return `s${JSON.stringify(value)}`
  if (value instanceof Uint8Array) return `x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`
  if (typeof value === 'boolean') return `i${value ? 1 : 0}`
  throw new Error(`cannot checksum a value of type ${typeof value}`)
}

/** SHA-256 of one row, as a number. */
export function rowHash(row: unknown[]): bigint {
  return BigInt(`0x${createHash('sha256').update(row.map(canonical).join(',')).digest('hex')}`)
}

export interface TableSum {
  rows: number
  /** 64 hex digits. */
  checksum: string
}

/** Reads every row of a table in keyset batches and sums their hashes. */
export async function checksumTable(
  db: Db, plan: TablePlan, wanted: number, onRows: (rows: number) => void = () => {},
): Promise<TableSum> {
  const sql = tableSql(plan)
  const keys = keyIndexes(plan)
  const batch = batchRows(plan, wanted)
  let sum = 0n
  let rows = 0
  let last: unknown[] | null = null
  for (;;) {
    const page = (await db.$execute(last ? sql.after : sql.first, last ? [...last, batch] : [batch], 'all')).rows as unknown[][]
    for (const row of page) sum += rowHash(row)
    rows += page.length
    onRows(page.length)
    if (page.length < batch) break
    last = keys.map((i) => page[page.length - 1][i])
  }
  return { rows, checksum: (sum % MOD).toString(16).padStart(64, '0') }
}
