import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../../db/client.ts'
import { accountByName } from '../../db/queries/accounts.ts'
import { insertRefreshToken, refreshTokenByHash } from '../../db/queries/refresh-tokens.ts'
import { createUser, resetSecret, setDisabled } from './access-admin.ts'
import { pruneAuthRecords } from './housekeeping.ts'

describe('access record housekeeping', () => {
  let db: Db
  beforeEach(() => { db = openDatabase(':memory:') })
  afterEach(() => closeDatabase(db))

  const refresh = (accountId: number, tokenHash: string, expiresAt: number) =>
    insertRefreshToken(db, { tokenHash, accountId, service: 'registry.test', clientId: null, expiresAt })

  it('removes refresh tokens past their expiry and keeps the others', async () => {
    await createUser(db, 'alice', { password: 'a long enough password' })
    const alice = accountByName(db, 'alice')!
    refresh(alice.id, 'old', 1_000)
    refresh(alice.id, 'live', Date.now() + 60_000)
    expect(pruneAuthRecords(db)).toMatchObject({ refreshTokens: 1 })
    expect(refreshTokenByHash(db, 'live')).not.toBeNull()
  })

  it('ends an account\'s refresh tokens when its secret is reset or it is disabled', async () => {
    await createUser(db, 'bob', { password: 'a long enough password' })
    await createUser(db, 'carol', { password: 'a long enough password' })
    const bob = accountByName(db, 'bob')!
    const carol = accountByName(db, 'carol')!
    refresh(bob.id, 'bob-1', Date.now() + 60_000)
    refresh(carol.id, 'carol-1', Date.now() + 60_000)
    await resetSecret(db, 'bob')
    expect(refreshTokenByHash(db, 'bob-1')).toBeNull()
    expect(refreshTokenByHash(db, 'carol-1')).not.toBeNull()
    setDisabled(db, 'carol', true)
    expect(refreshTokenByHash(db, 'carol-1')).toBeNull()
  })
})
