// "Nothing changed": a fingerprint of everything a refused request could have written at the
// origin, taken before and after. The database: every row of every table (the change log, upload
// sessions and placements included). Storage: every key and size in every location, but the
// write probe's key, which the origin writes and deletes on its own schedule.

import { createHash } from 'node:crypto'
import type { Db } from '../../db/client.ts'
import type { LocationSet } from '../../origin/locations.ts'
import { PROBE_KEY } from '../../storage/keys.ts'

export interface StateSnapshot {
  /** table name → its row count and the SHA-256 of its rows. */
  tables: Record<string, string>
  /** `<location>/<key> <size>` for every stored object, sorted. */
  objects: string[]
}

export async function snapshotState(db: Db, locations: LocationSet): Promise<StateSnapshot> {
  const sqlite = db.$client
  const names = sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as Array<{ name: string }>
  const tables: Record<string, string> = {}
  for (const { name } of names) {
    const hash = createHash('sha256')
    // Rows sorted as text: the fingerprint must not depend on the order SQLite returns them in.
    const rows = sqlite.prepare(`SELECT * FROM "${name}"`).raw().all() as unknown[][]
    for (const row of rows.map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))).sort()) hash.update(`${row}\n`)
    tables[name] = `${rows.length} rows ${hash.digest('hex').slice(0, 16)}`
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
