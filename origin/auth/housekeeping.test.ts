import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Db } from '../../db/client.ts'
import { accountByName } from '../../db/queries/accounts.ts'
import { insertRefreshToken, refreshTokenByHash } from '../../db/queries/refresh-tokens.ts'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import { createUser, resetSecret, setDisabled } from './access-admin.ts'
import { pruneAuthRecords } from './housekeeping.ts'

describe('access record housekeeping', () => {
  let t: TestDatabase
  let db: Db
  beforeEach(async () => {
    t = await openTestDatabase('meridian-housekeeping-')
    db = t.db
  })
  afterEach(() => t.close())

  const refresh = (accountId: number, tokenHash: string, expiresAt: number) =>
    insertRefreshToken(db, { tokenHash, accountId, service: 'registry.test', clientId: null, expiresAt })

  it('removes refresh tokens past their expiry and keeps the others', async () => {
    await createUser(db, 'alice', { password: 'a long enough password' })
    const alice = (await accountByName(db, 'alice'))!
    await refresh(alice.id, 'old', 1_000)
    await refresh(alice.id, 'live', Date.now() + 60_000)
    expect(await pruneAuthRecords(db)).toMatchObject({ refreshTokens: 1 })
    expect(await refreshTokenByHash(db, 'live')).not.toBeNull()
  })

  it('ends an account\'s refresh tokens when its secret is reset or it is disabled', async () => {
    await createUser(db, 'bob', { password: 'a long enough password' })
    await createUser(db, 'carol', { password: 'a long enough password' })
    const bob = (await accountByName(db, 'bob'))!
    const carol = (await accountByName(db, 'carol'))!
    await refresh(bob.id, 'bob-1', Date.now() + 60_000)
    await refresh(carol.id, 'carol-1', Date.now() + 60_000)
    await resetSecret(db, 'bob')
    expect(await refreshTokenByHash(db, 'bob-1')).toBeNull()
    expect(await refreshTokenByHash(db, 'carol-1')).not.toBeNull()
    await setDisabled(db, 'carol', true)
    expect(await refreshTokenByHash(db, 'carol-1')).toBeNull()
  })
})
