import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Db } from '../client.ts'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import {
  AccountExists, accountByName, createAccount, deleteAccount, listAccounts, setAccountAdmin, setAccountDisabled, setAccountSecret,
} from './accounts.ts'
import { GrantInvalid, grantActions, grantsOf, revokeGrant } from './grants.ts'
import { insertRefreshToken, refreshTokenByHash } from './refresh-tokens.ts'

let t: TestDatabase
let db: Db
beforeEach(async () => {
  t = await openTestDatabase('meridian-db-')
  db = t.db
})
afterEach(() => t.close())

describe('accounts', () => {
  it('creates users and robots, refusing a name already taken with a typed error', async () => {
    const alice = await createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h1' }, 1000)
    expect(alice).toEqual({ id: alice.id, name: 'alice', kind: 'user', secretHash: 'h1', isAdmin: false, disabled: false, createdAt: 1000, updatedAt: 1000 })
    await createAccount(db, { name: 'team+ci', kind: 'robot', secretHash: 'h2', isAdmin: false })
    await expect(createAccount(db, { name: 'alice', kind: 'robot', secretHash: 'h3' })).rejects.toThrow(AccountExists)
    expect((await listAccounts(db)).map((a) => [a.name, a.kind])).toEqual([['alice', 'user'], ['team+ci', 'robot']])
    expect(await accountByName(db, 'bob')).toBeNull()
  })

  it('changes secret, disabled and admin flags, answering false for an unknown account', async () => {
    await createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h1' })
    expect(await setAccountSecret(db, 'alice', 'h2')).toBe(true)
    expect(await setAccountDisabled(db, 'alice', true)).toBe(true)
    expect(await setAccountAdmin(db, 'alice', true)).toBe(true)
    expect(await accountByName(db, 'alice')).toMatchObject({ secretHash: 'h2', disabled: true, isAdmin: true })
    expect(await setAccountSecret(db, 'bob', 'h')).toBe(false)
    expect(await setAccountDisabled(db, 'bob', true)).toBe(false)
    expect(await setAccountAdmin(db, 'bob', true)).toBe(false)
  })

  it('deletes an account with its grants and refresh tokens', async () => {
    const alice = await createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h' })
    await grantActions(db, alice.id, 'team/*', ['pull'])
    await insertRefreshToken(db, { tokenHash: 'x', accountId: alice.id, service: 's', clientId: null, expiresAt: Date.now() + 60_000 })
    expect(await deleteAccount(db, 'alice')).toBe(true)
    expect(await deleteAccount(db, 'alice')).toBe(false)
    expect(await grantsOf(db, alice.id)).toEqual([])
    expect(await refreshTokenByHash(db, 'x')).toBeNull()
  })
})

describe('grants', () => {
  it('upserts actions per target, deduplicated in pull,push,delete,admin order, and revokes', async () => {
    const { id } = await createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h' })
    await grantActions(db, id, 'team/app', ['push', 'pull', 'push'])
    await grantActions(db, id, 'team/*', ['pull'])
    expect(await grantsOf(db, id)).toEqual([{ target: 'team/*', actions: ['pull'] }, { target: 'team/app', actions: ['pull', 'push'] }])
    await grantActions(db, id, 'team/app', ['delete'])
    expect(await grantsOf(db, id)).toContainEqual({ target: 'team/app', actions: ['delete'] })
    expect(await revokeGrant(db, id, 'team/app')).toBe(true)
    expect(await revokeGrant(db, id, 'team/app')).toBe(false)
    expect(await grantsOf(db, id)).toEqual([{ target: 'team/*', actions: ['pull'] }])
  })

  it('refuses unknown actions and empty grants', async () => {
    const { id } = await createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h' })
    await expect(grantActions(db, id, 'team/app', ['pull', 'own'])).rejects.toThrow(GrantInvalid)
    await expect(grantActions(db, id, 'team/app', [])).rejects.toThrow(GrantInvalid)
    expect(await grantsOf(db, id)).toEqual([])
  })
})

describe('refresh tokens', () => {
  it('finds a token by its hash until it expires', async () => {
    const { id } = await createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h' })
    await insertRefreshToken(db, { tokenHash: 'abc', accountId: id, service: 'registry', clientId: 'docker', expiresAt: 2000 }, 1000)
    expect(await refreshTokenByHash(db, 'abc', 1999)).toMatchObject({ accountId: id, service: 'registry', clientId: 'docker' })
    expect(await refreshTokenByHash(db, 'abc', 2000)).toBeNull()
  })
})
