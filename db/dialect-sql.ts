// The few SQL fragments SQLite and PostgreSQL spell differently, chosen by the handle's engine.
// Only db/queries use them: nothing outside db/ knows which engine it talks to.

import { sql, type SQL } from 'drizzle-orm'
import type { Db } from './client.ts'

/** The values of `expr` over a group, joined by newlines (null for an empty group). */
export function joinLines(db: Db, expr: SQL): SQL {
  return db.$dialect === 'postgres' ? sql`string_agg(${expr}, chr(10))` : sql`group_concat(${expr}, char(10))`
}

/** A JSON array stored as text, with `value` (a string) appended. */
export function jsonTextAppend(db: Db, column: SQL, value: string): SQL {
  return db.$dialect === 'postgres'
    ? sql`(${column}::jsonb || jsonb_build_array(${value}::text))::text`
    : sql`json_insert(${column}, '$[#]', ${value})`
}
