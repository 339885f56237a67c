import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../client.ts'
import { changesSince } from './changes.ts'
import { isRepositoryPublic, publicRepositoryNames, setRepositoryPublic } from './visibility.ts'

let db: Db
beforeEach(() => { db = openDatabase(':memory:') })
afterEach(() => { closeDatabase(db) })

describe('repository visibility', () => {
  it('makes a repository public (before its first push) and private again, each flip in the change feed', () => {
    expect(isRepositoryPublic(db, 'team/app')).toBe(false)
    expect(setRepositoryPublic(db, 'team/app', true, 1000)).toBe(true)
    expect(isRepositoryPublic(db, 'team/app')).toBe(true)
    expect(publicRepositoryNames(db)).toEqual(['team/app'])
    expect(setRepositoryPublic(db, 'team/app', false, 2000)).toBe(true)
    expect(isRepositoryPublic(db, 'team/app')).toBe(false)
    expect(changesSince(db, 0)).toMatchObject([
      { kind: 'repository.visibility', repository: 'team/app', payload: { public: true }, at: 1000 },
      { kind: 'repository.visibility', repository: 'team/app', payload: { public: false }, at: 2000 },
    ])
  })

  it('appends nothing when the repository already was as asked', () => {
    expect(setRepositoryPublic(db, 'team/app', false)).toBe(false)
    setRepositoryPublic(db, 'team/app', true)
    expect(setRepositoryPublic(db, 'team/app', true)).toBe(false)
    expect(changesSince(db, 0)).toHaveLength(1)
  })
})
