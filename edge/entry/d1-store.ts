// SqlStore over a Cloudflare D1 binding. Typed locally (no @cloudflare/workers-types dependency).
// D1 writes a Uint8Array as a BLOB but reads a BLOB back as an array of numbers, so rows are
// converted back to Uint8Array here; a D1 batch runs as one transaction (all or nothing).

import type { SqlStore, SqlValue } from '../index/sql-store.ts'

/** The part of D1PreparedStatement the store uses. */
interface D1PreparedStatement {
  bind(...values: SqlValue[]): D1PreparedStatement
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>
}

/** The part of D1Database the store uses. A session from `withSession()` (read replication: it
 * never reads behind its bookmark) fits too; it lacks `exec`, which the index never calls. */
export interface D1Like {
  prepare(sql: string): D1PreparedStatement
  batch(statements: D1PreparedStatement[]): Promise<unknown[]>
  exec?(sql: string): Promise<unknown>
}

export function d1Store(db: D1Like): SqlStore {
  return {
    async exec(sql) {
      if (!db.exec) throw new Error('exec needs the D1Database itself, not a session')
      await db.exec(sql)
    },
    async all<T>(sql: string, params: SqlValue[] = []) {
      const { results } = await db.prepare(sql).bind(...params).all<Record<string, unknown>>()
      for (const row of results) {
        for (const key in row) {
          const value = row[key]
          if (Array.isArray(value)) row[key] = Uint8Array.from(value as number[])
          else if (value instanceof ArrayBuffer) row[key] = new Uint8Array(value)
        }
      }
      return results as T[]
    },
    async batch(statements) {
      if (statements.length === 0) return
      await db.batch(statements.map((s) => db.prepare(s.sql).bind(...(s.params ?? []))))
    },
  }
}
