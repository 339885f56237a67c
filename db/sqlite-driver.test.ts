import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
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

  it('is the only code that loads better-sqlite3: a direct import would load 13 on Node 20 and crash', () => {
    const root = fileURLToPath(new URL('..', import.meta.url))
    const skip = new Set(['node_modules', 'dist', 'data', '.git', '.ci'])
    // Holds `require('better-sqlite3')` as a fixture string for the portability fence.
    const fixtures = new Set(['test/portable-imports.test.ts'])
    const offenders: string[] = []
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        // .bench-scale-dist-<pid>: the scale bench's own bundles while it runs (scripts/bench/scale.ts).
        if (skip.has(entry.name) || entry.name.startsWith('.bench-scale-dist-')) continue
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (/\.[cm]?[jt]s$/.test(entry.name) && path !== fileURLToPath(import.meta.url)) {
          // Value imports and requires of the package itself; `import type` is erased.
          if (/(?:^|\n)\s*import\s+(?!type\b)[^'"]*from\s*['"]better-sqlite3['"]|require\(\s*['"]better-sqlite3['"]\s*\)/.test(readFileSync(path, 'utf8'))) {
            if (!fixtures.has(relative(root, path))) offenders.push(relative(root, path))
          }
        }
      }
    }
    walk(root)
    expect(offenders).toEqual([])
  })
})
