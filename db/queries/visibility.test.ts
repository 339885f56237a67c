import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Db } from '../client.ts'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import { changesSince } from './changes.ts'
import { isRepositoryPublic, publicRepositoryNames, setRepositoryPublic } from './visibility.ts'

let t: TestDatabase
let db: Db
beforeEach(async () => {
  t = await openTestDatabase('meridian-db-')
  db = t.db
})
afterEach(() => t.close())

describe('repository visibility', () => {
  it('makes a repository public (before its first push) and private again, each flip in the change feed', async () => {
    expect(await isRepositoryPublic(db, 'team/app')).toBe(false)
    expect(await setRepositoryPublic(db, 'team/app', true, 1000)).toBe(true)
    expect(await isRepositoryPublic(db, 'team/app')).toBe(true)
    expect(await publicRepositoryNames(db)).toEqual(['team/app'])
    expect(await setRepositoryPublic(db, 'team/app', false, 2000)).toBe(true)
    expect(await isRepositoryPublic(db, 'team/app')).toBe(false)
    expect(await changesSince(db, 0)).toMatchObject([
      { kind: 'repository.visibility', repository: 'team/app', payload: { public: true }, at: 1000 },
      { kind: 'repository.visibility', repository: 'team/app', payload: { public: false }, at: 2000 },
    ])
  })

  it('appends nothing when the repository already was as asked', async () => {
    expect(await setRepositoryPublic(db, 'team/app', false)).toBe(false)
    await setRepositoryPublic(db, 'team/app', true)
    expect(await setRepositoryPublic(db, 'team/app', true)).toBe(false)
    expect(await changesSince(db, 0)).toHaveLength(1)
  })
})
