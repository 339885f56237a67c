// Every text column on PostgreSQL sorts by bytes (COLLATE "C", db/migrations-pg/0003_byte_order_text.sql),
// as SQLite and the edges' indexes do: a column added later without it would page tag lists, the
// catalog or a snapshot in another order on a database made with a language collation. Runs in the
// PostgreSQL pass (MERIDIAN_TEST_DATABASE=postgres), against the migrated schema.

import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { openTestDatabase, testDatabaseKind } from '../test/helpers/test-database.ts'

describe.skipIf(testDatabaseKind() !== 'postgres')('PostgreSQL text columns', () => {
  it('all sort by bytes (COLLATE "C")', async () => {
    const t = await openTestDatabase('meridian-collation-')
    try {
      const columns = await t.db.$all<{ column: string; collation: string | null }>(sql`
        select table_name || '.' || column_name as "column", collation_name as "collation"
        from information_schema.columns
        where table_schema = current_schema() and data_type in ('text', 'character varying', 'character') and table_name not like '\_\_drizzle%'
        order by 1`)
      expect(columns.length).toBeGreaterThan(20)
      expect(columns.filter((c) => c.collation !== 'C')).toEqual([])
    } finally {
      await t.close()
    }
  })
})
