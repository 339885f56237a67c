// A failed statement is logged by its cause, never with its bound values (they can be secret
// hashes or private keys): drizzle puts the SQL and every value in its error's message.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase } from './client.ts'
import { accounts } from './schema.ts'
import { describeError } from '../storage/log.ts'
import { testDatabaseUrl } from '../test/helpers/test-database.ts'

describe('a failed statement in the logs', () => {
  it('names the database error and the statement, not the values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-failed-'))
    const db = await openDatabase(await testDatabaseUrl(dir))
    try {
      const row = { name: 'alice', kind: 'user', secretHash: 'scrypt$SECRET-HASH', createdAt: 1, updatedAt: 1 }
      await db.insert(accounts).values(row).run()
      const err = await db.insert(accounts).values(row).run().then(() => null, (e: unknown) => e)
      const line = describeError(err)
      expect(line).not.toContain('SECRET-HASH')
      expect(line).toMatch(/UNIQUE|unique|duplicate/)
      expect(line).toContain('insert into "accounts"')
    } finally {
      await closeDatabase(db)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
