import { describe, expect, it } from 'vitest'
import { chooseSqliteDriver, loadSqliteDriver } from './sqlite-driver.ts'

describe('SQLite driver choice', () => {
  it('runs better-sqlite3 13 where Node-API 10 exists (Node 22, 24) and 12 below it (Node 20)', () => {
    expect(chooseSqliteDriver(10).module).toBe('better-sqlite3')
    expect(chooseSqliteDriver(11).module).toBe('better-sqlite3')
    expect(chooseSqliteDriver(9).module).toBe('better-sqlite3-node20')
  })

  it('loads the override instead when MERIDIAN_SQLITE_MODULE names one', () => {
    expect(chooseSqliteDriver(10, '/opt/bsq12')).toEqual({ module: '/opt/bsq12', reason: 'MERIDIAN_SQLITE_MODULE' })
  })

  it('loads a driver that opens a database on the running Node', () => {
    const Sqlite = loadSqliteDriver()
    const db = new Sqlite(':memory:')
    try {
      expect(db.prepare('select sqlite_version() as v').get()).toMatchObject({ v: expect.any(String) })
    } finally {
      db.close()
    }
  })
})
