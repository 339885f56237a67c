import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../client.ts'
import {
  AccountExists, accountByName, createAccount, deleteAccount, listAccounts, setAccountAdmin, setAccountDisabled, setAccountSecret,
} from './accounts.ts'
import { GrantInvalid, grantActions, grantsOf, revokeGrant } from './grants.ts'
import { insertRefreshToken, refreshTokenByHash } from './refresh-tokens.ts'

let db: Db
beforeEach(() => { db = openDatabase(':memory:') })
afterEach(() => { closeDatabase(db) })

describe('accounts', () => {
  it('creates users and robots, refusing a name already taken with a typed error', () => {
    const alice = createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h1' }, 1000)
    expect(alice).toEqual({ id: alice.id, name: 'alice', kind: 'user', secretHash: 'h1', isAdmin: false, disabled: false, createdAt: 1000, updatedAt: 1000 })
    createAccount(db, { name: 'team+ci', kind: 'robot', secretHash: 'h2', isAdmin: false })
    expect(() => createAccount(db, { name: 'alice', kind: 'robot', secretHash: 'h3' })).toThrow(AccountExists)
    expect(listAccounts(db).map((a) => [a.name, a.kind])).toEqual([['alice', 'user'], ['team+ci', 'robot']])
    expect(accountByName(db, 'bob')).toBeNull()
  })

  it('changes secret, disabled and admin flags, answering false for an unknown account', () => {
    createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h1' })
    expect(setAccountSecret(db, 'alice', 'h2')).toBe(true)
    expect(setAccountDisabled(db, 'alice', true)).toBe(true)
    expect(setAccountAdmin(db, 'alice', true)).toBe(true)
    expect(accountByName(db, 'alice')).toMatchObject({ secretHash: 'h2', disabled: true, isAdmin: true })
    expect(setAccountSecret(db, 'bob', 'h')).toBe(false)
    expect(setAccountDisabled(db, 'bob', true)).toBe(false)
    expect(setAccountAdmin(db, 'bob', true)).toBe(false)
  })

  it('deletes an account with its grants and refresh tokens', () => {
    const alice = createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h' })
    grantActions(db, alice.id, 'team/*', ['pull'])
    insertRefreshToken(db, { tokenHash: 'x', accountId: alice.id, service: 's', clientId: null, expiresAt: Date.now() + 60_000 })
    expect(deleteAccount(db, 'alice')).toBe(true)
    expect(deleteAccount(db, 'alice')).toBe(false)
    expect(grantsOf(db, alice.id)).toEqual([])
    expect(refreshTokenByHash(db, 'x')).toBeNull()
  })
})

describe('grants', () => {
  it('upserts actions per target, deduplicated in pull,push,delete,admin order, and revokes', () => {
    const { id } = createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h' })
    grantActions(db, id, 'team/app', ['push', 'pull', 'push'])
    grantActions(db, id, 'team/*', ['pull'])
    expect(grantsOf(db, id)).toEqual([{ target: 'team/*', actions: ['pull'] }, { target: 'team/app', actions: ['pull', 'push'] }])
    grantActions(db, id, 'team/app', ['delete'])
    expect(grantsOf(db, id)).toContainEqual({ target: 'team/app', actions: ['delete'] })
    expect(revokeGrant(db, id, 'team/app')).toBe(true)
    expect(revokeGrant(db, id, 'team/app')).toBe(false)
    expect(grantsOf(db, id)).toEqual([{ target: 'team/*', actions: ['pull'] }])
  })

  it('refuses unknown actions and empty grants', () => {
    const { id } = createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h' })
    expect(() => grantActions(db, id, 'team/app', ['pull', 'own'])).toThrow(GrantInvalid)
    expect(() => grantActions(db, id, 'team/app', [])).toThrow(GrantInvalid)
    expect(grantsOf(db, id)).toEqual([])
  })
})

describe('refresh tokens', () => {
  it('finds a token by its hash until it expires', () => {
    const { id } = createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h' })
    insertRefreshToken(db, { tokenHash: 'abc', accountId: id, service: 'registry', clientId: 'docker', expiresAt: 2000 }, 1000)
    expect(refreshTokenByHash(db, 'abc', 1999)).toMatchObject({ accountId: id, service: 'registry', clientId: 'docker' })
    expect(refreshTokenByHash(db, 'abc', 2000)).toBeNull()
  })
})
