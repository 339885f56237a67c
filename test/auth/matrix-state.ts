// "Nothing changed": a fingerprint of everything a refused request could have written at the
// origin, taken before and after. The database: every row of every table (the change log, upload
// sessions and placements included). Storage: every key and size in every location, but the
// write probe's key, which the origin writes and deletes on its own schedule.

import { createHash } from 'node:crypto'
import { getTableName, is } from 'drizzle-orm'
import { SQLiteTable } from 'drizzle-orm/sqlite-core'
import type { Db } from '../../db/client.ts'
import * as schema from '../../db/schema.ts'
import type { LocationSet } from '../../origin/locations.ts'
import { PROBE_KEY } from '../../storage/keys.ts'

export interface StateSnapshot {
  /** table name → its row count and the SHA-256 of its rows. */
  tables: Record<string, string>
  /** `<location>/<key> <size>` for every stored object, sorted. */
  objects: string[]
}

export async function snapshotState(db: Db, locations: LocationSet): Promise<StateSnapshot> {
  const tables: Record<string, string> = {}
  // Every table of the schema (the same on SQLite and PostgreSQL) but `leases`: the origin's own
  // background passes renew theirs whenever they run, whatever a request did.
  for (const table of (Object.values(schema) as unknown[]).filter((t): t is SQLiteTable => is(t, SQLiteTable) && t !== schema.leases)) {
    const hash = createHash('sha256')
    // Rows sorted as text: the fingerprint must not depend on the order the database returns them in.
    const rows: unknown[] = await db.select().from(table).all()
    for (const row of rows.map((r) => JSON.stringify(r)).sort()) hash.update(`${row}\n`)
    tables[getTableName(table)] = `${rows.length} rows ${hash.digest('hex').slice(0, 16)}`
  }
  const objects: string[] = []
  for (const location of locations.all()) {
    let cursor: string | null = null
    do {
      const page = await location.engine.list('', cursor ? { cursor } : {})
      for (const o of page.keys) if (o.key !== PROBE_KEY) objects.push(`${location.id}/${o.key} ${o.size}`)
      cursor = page.cursor
    } while (cursor)
  }
  return { tables, objects: objects.sort() }
}
