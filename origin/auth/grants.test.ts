import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../../db/client.ts'
import { testDatabaseUrl } from '../../test/helpers/test-database.ts'
import { createAccount, setAccountDisabled, accountByName, type AccountRow } from '../../db/queries/accounts.ts'
import { grantActions } from '../../db/queries/grants.ts'
import { setRepositoryPublic } from '../../db/queries/visibility.ts'
import type { Access } from '../../oci/auth/types.ts'
import { grantedAccess, visibleRepositories } from './grants.ts'

let dir: string
let db: Db
let alice: AccountRow
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meridian-grants-'))
  db = await openDatabase(await testDatabaseUrl(dir))
  alice = await createAccount(db, { name: 'alice', kind: 'user', secretHash: 'h' })
  await grantActions(db, alice.id, 'team/*', ['pull'])
  await grantActions(db, alice.id, 'team/app', ['push'])
  await grantActions(db, alice.id, 'ops/tool', ['admin'])
  await setRepositoryPublic(db, 'pub/site', true)
})
afterEach(async () => {
  await closeDatabase(db)
  rmSync(dir, { recursive: true, force: true })
})

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
    it(what, async () => {
      const got = await grantedAccess(db, account(), [asked])
      expect(got).toEqual(granted.length ? [{ ...asked, actions: granted }] : [])
    })
  }

  it('gives an admin account every repository action anywhere', async () => {
    const root = await createAccount(db, { name: 'root', kind: 'user', secretHash: 'h', isAdmin: true })
    expect(await grantedAccess(db, root, [repo('any/thing', 'delete', 'pull'), catalog])).toEqual([repo('any/thing', 'pull', 'delete'), catalog])
  })

  it('gives registry:admin:* to an admin account only, and only when asked for', async () => {
    const adminApi: Access = { type: 'registry', name: 'admin', actions: ['*'] }
    const root = await createAccount(db, { name: 'root', kind: 'user', secretHash: 'h', isAdmin: true })
    expect(await grantedAccess(db, root, [repo('any/thing', 'pull'), adminApi])).toEqual([repo('any/thing', 'pull'), adminApi])
    // Never as a side effect: a pull, or the catalog, brings no admin access along.
    expect(await grantedAccess(db, root, [repo('any/thing', 'pull'), catalog])).toEqual([repo('any/thing', 'pull'), catalog])
    expect(await grantedAccess(db, root, [{ type: 'registry', name: 'admin', actions: ['pull'] }])).toEqual([])
    // A partial grant for anyone else: the rest of what was asked.
    expect(await grantedAccess(db, alice, [repo('team/app', 'pull'), adminApi])).toEqual([repo('team/app', 'pull')])
    expect(await grantedAccess(db, null, [adminApi, catalog])).toEqual([catalog])
    await setAccountDisabled(db, 'root', true)
    expect(await grantedAccess(db, await accountByName(db, 'root'), [adminApi])).toEqual([])
  })

  it('gives a disabled account nothing, not even public pulls', async () => {
    await setAccountDisabled(db, 'alice', true)
    expect(await grantedAccess(db, await accountByName(db, 'alice'), [repo('team/app', 'pull'), repo('pub/site', 'pull'), catalog])).toEqual([])
  })

  it('answers several scopes at once, merging repeats', async () => {
    expect(await grantedAccess(db, alice, [repo('team/app', 'push'), repo('other/x', 'pull'), repo('team/app', 'pull')]))
      .toEqual([repo('team/app', 'pull', 'push')])
  })
})

describe('visibleRepositories: the catalog shows what the caller may pull', () => {
  const names = ['ops/tool', 'other/app', 'pub/site', 'team/app', 'team/web']
  it('an account sees its grants and the public ones', async () => {
    expect(await visibleRepositories(db, { subject: 'alice', access: [] }, names)).toEqual(['ops/tool', 'pub/site', 'team/app', 'team/web'])
  })
  it('anonymous and unknown callers see the public ones', async () => {
    expect(await visibleRepositories(db, { subject: '', access: [] }, names)).toEqual(['pub/site'])
    expect(await visibleRepositories(db, { subject: 'ghost', access: [] }, names)).toEqual(['pub/site'])
  })
  it('an admin sees all', async () => {
    await createAccount(db, { name: 'root', kind: 'user', secretHash: 'h', isAdmin: true })
    expect(await visibleRepositories(db, { subject: 'root', access: [] }, names)).toEqual(names)
  })
})
