// The few SQL fragments SQLite and PostgreSQL spell differently, chosen by the handle's engine.
// Only db/queries use them: nothing outside db/ knows which engine it talks to.

import { sql, type SQL } from 'drizzle-orm'
import type { Db } from './client.ts'

const JOIN_LINES = { postgres: ['string_agg(', ', chr(10))'], sqlite: ['group_concat(', ', char(10))'] } as const

/** The values of `expr` over a group, joined by newlines (null for an empty group). */
export function joinLines(db: Db, expr: SQL): SQL {
  const [open, close] = JOIN_LINES[db.$dialect]
  return sql`${sql.raw(open)}${expr}${sql.raw(close)}`
}

/** joinLines for a statement written as text (raw SQL with `?` parameters). */
export function joinLinesText(db: Db, expr: string): string {
  const [open, close] = JOIN_LINES[db.$dialect]
  return `${open}${expr}${close}`
}

/** A JSON array stored as text, with `value` (a string) appended. */
export function jsonTextAppend(db: Db, column: SQL, value: string): SQL {
  return db.$dialect === 'postgres'
    ? sql`(${column}::jsonb || jsonb_build_array(${value}::text))::text`
    : sql`json_insert(${column}, '$[#]', ${value})`
}
