import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../../db/client.ts'
import { createAccount, setAccountDisabled, accountByName, type AccountRow } from '../../db/queries/accounts.ts'
import { grantActions } from '../../db/queries/grants.ts'
import { setRepositoryPublic } from '../../db/queries/visibility.ts'
import type { Access } from '../../oci/auth/types.ts'
import { grantedAccess, visibleRepositories } from './grants.ts'

let db: Db
let alice: AccountRow
beforeEach(() => {
  db = openDatabase(':memory:')
  alice = createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h' })
  grantActions(db, alice.id, 'team/*', ['pull'])
  grantActions(db, alice.id, 'team/app', ['push'])
  grantActions(db, alice.id, 'ops/tool', ['admin'])
  setRepositoryPublic(db, 'pub/site', true)
})
afterEach(() => { closeDatabase(db) })

const repo = (name: string, ...actions: string[]): Access => ({ type: 'repository', name, actions })
const catalog: Access = { type: 'registry', name: 'catalog', actions: ['*'] }
const all = ['pull', 'push', 'delete', 'admin']

describe('grantedAccess: the intersection of what was asked and what the account may do', () => {
  const cases: Array<[string, () => AccountRow | null, Access, string[]]> = [
    ['a namespace grant covers a repository in it', () => alice, repo('team/web', 'pull'), ['pull']],
    ['a namespace grant covers nested names', () => alice, repo('team/sub/web', 'pull'), ['pull']],
    ['a namespace grant does not cover a prefix-sharing namespace', () => alice, repo('teamx/web', 'pull'), []],
    ['push implies pull', () => alice, repo('team/app', 'pull', 'push'), ['pull', 'push']],
    ['a partial grant: pull only where push was asked too', () => alice, repo('team/web', 'pull', 'push'), ['pull']],
    ['push does not imply delete', () => alice, repo('team/app', 'delete'), []],
    ['admin implies pull, push, delete', () => alice, repo('ops/tool', ...all), all],
    ['nothing outside the grants', () => alice, repo('other/app', 'pull'), []],
    ['public: pull for an account', () => alice, repo('pub/site', 'pull', 'push'), ['pull']],
    ['public: pull for anonymous', () => null, repo('pub/site', 'pull', 'push'), ['pull']],
    ['anonymous gets nothing private', () => null, repo('team/app', 'pull'), []],
    ['the catalog for anonymous', () => null, catalog, ['*']],
    ['the catalog for an account', () => alice, catalog, ['*']],
    ['unknown actions are dropped', () => alice, repo('team/app', 'pull', 'own'), ['pull']],
  ]
  for (const [what, account, asked, granted] of cases) {
    it(what, () => {
      const got = grantedAccess(db, account(), [asked])
      expect(got).toEqual(granted.length ? [{ ...asked, actions: granted }] : [])
    })
  }

  it('gives an admin account every repository action anywhere', () => {
    const root = createAccount(db, { name: 'root', kind: 'user', secretHash: 'h', isAdmin: true })
    expect(grantedAccess(db, root, [repo('any/thing', 'delete', 'pull'), catalog])).toEqual([repo('any/thing', 'pull', 'delete'), catalog])
  })

  it('gives registry:admin:* to an admin account only, and only when asked for', () => {
    const adminApi: Access = { type: 'registry', name: 'admin', actions: ['*'] }
    const root = createAccount(db, { name: 'root', kind: 'user', secretHash: 'h', isAdmin: true })
    expect(grantedAccess(db, root, [repo('any/thing', 'pull'), adminApi])).toEqual([repo('any/thing', 'pull'), adminApi])
    // Never as a side effect: a pull, or the catalog, brings no admin access along.
    expect(grantedAccess(db, root, [repo('any/thing', 'pull'), catalog])).toEqual([repo('any/thing', 'pull'), catalog])
    expect(grantedAccess(db, root, [{ type: 'registry', name: 'admin', actions: ['pull'] }])).toEqual([])
    // A partial grant for anyone else: the rest of what was asked.
    expect(grantedAccess(db, alice, [repo('team/app', 'pull'), adminApi])).toEqual([repo('team/app', 'pull')])
    expect(grantedAccess(db, null, [adminApi, catalog])).toEqual([catalog])
    setAccountDisabled(db, 'root', true)
    expect(grantedAccess(db, accountByName(db, 'root'), [adminApi])).toEqual([])
  })

  it('gives a disabled account nothing, not even public pulls', () => {
    setAccountDisabled(db, 'alice', true)
    expect(grantedAccess(db, accountByName(db, 'alice'), [repo('team/app', 'pull'), repo('pub/site', 'pull'), catalog])).toEqual([])
  })

  it('answers several scopes at once, merging repeats', () => {
    expect(grantedAccess(db, alice, [repo('team/app', 'push'), repo('other/x', 'pull'), repo('team/app', 'pull')]))
      .toEqual([repo('team/app', 'pull', 'push')])
  })
})

describe('visibleRepositories: the catalog shows what the caller may pull', () => {
  const names = ['ops/tool', 'other/app', 'pub/site', 'team/app', 'team/web']
  it('an account sees its grants and the public ones', () => {
    expect(visibleRepositories(db, { subject: 'alice', access: [] }, names)).toEqual(['ops/tool', 'pub/site', 'team/app', 'team/web'])
  })
  it('anonymous and unknown callers see the public ones', () => {
    expect(visibleRepositories(db, { subject: '', access: [] }, names)).toEqual(['pub/site'])
    expect(visibleRepositories(db, { subject: 'ghost', access: [] }, names)).toEqual(['pub/site'])
  })
  it('an admin sees all', () => {
    createAccount(db, { name: 'root', kind: 'user', secretHash: 'h', isAdmin: true })
    expect(visibleRepositories(db, { subject: 'root', access: [] }, names)).toEqual(names)
  })
})
