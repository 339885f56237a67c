// Every SqlStore this machine can run, held to the contract the region index relies on: rows as
// objects, BLOBs back as Uint8Array, a batch that is all-or-nothing, and the index working on it.
// better-sqlite3 always; node:sqlite (the Deno store) where Node has it (22.13+, 24); the D1 store
// over a stand-in with D1's binding shape and its one surprise (BLOBs read back as number arrays).
// bun:sqlite and real D1 need their runtimes and are covered by the edge's runtime suites.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { SqlStore } from '../index/sql-store.ts'
import { createSqlIndex } from '../index/sql-index.ts'
import { changeLog, manifestBody } from '../../test/helpers/index-feed.ts'
import { openNodeStore } from './node-store.ts'
import { openDenoStore } from './deno-store.ts'
import { d1Store, type D1Like } from './d1-store.ts'
import { loadSqliteDriver } from '../../db/sqlite-driver.ts'
import type { SqlValue } from '../index/sql-store.ts'

const hasNodeSqlite = await import('node:sqlite' as string).then(() => true, () => false)

/** D1's binding API over better-sqlite3: bind/all/batch, BLOBs returned as arrays of numbers. */
function d1StandIn(path: string): D1Like & { close(): void } {
  const db = new (loadSqliteDriver())(path)
  const prepare = (sql: string, params: SqlValue[] = []) => ({
    sql, params,
    bind: (...values: SqlValue[]) => prepare(sql, values),
    all: async <T>() => ({
      results: db.prepare(sql).all(...params).map((row) => Object.fromEntries(Object.entries(row as object).map(([k, v]) => [k, v instanceof Uint8Array ? [...v] : v]))) as T[],
    }),
  })
  return {
    prepare,
    batch: async (statements) => {
      db.transaction(() => { for (const s of statements as ReturnType<typeof prepare>[]) db.prepare(s.sql).run(...s.params) })()
      return []
    },
    exec: async (sql) => db.exec(sql),
    close: () => db.close(),
  }
}

const stores: { name: string; open: (path: string) => Promise<SqlStore>; available: boolean }[] = [
  { name: 'better-sqlite3 (node-store)', open: async (path) => openNodeStore(path), available: true },
  { name: 'node:sqlite (deno-store)', open: openDenoStore, available: hasNodeSqlite },
  {
    name: 'D1 binding shape (d1-store)',
    open: async (path) => { const d1 = d1StandIn(path); return { ...d1Store(d1), close: async () => d1.close() } },
    available: true,
  },
]

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

async function fresh(open: (path: string) => Promise<SqlStore>): Promise<SqlStore> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-store-'))
  const store = await open(join(dir, 'index.sqlite'))
  cleanups.push(async () => { await store.close?.(); rmSync(dir, { recursive: true, force: true }) })
  return store
}

for (const { name, open, available } of stores) {
  describe.skipIf(!available)(name, () => {
    it('returns rows as objects and BLOBs as Uint8Array', async () => {
      const store = await fresh(open)
      await store.exec('CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, b BLOB)')
      await store.batch([{ sql: 'INSERT INTO t VALUES (?, ?, ?)', params: ['a', 7, new Uint8Array([1, 2, 255])] }])
      const rows = await store.all<{ k: string; n: number; b: Uint8Array }>('SELECT k, n, b FROM t WHERE k = ?', ['a'])
      expect(rows).toHaveLength(1)
      expect(rows[0]!.k).toBe('a')
      expect(Number(rows[0]!.n)).toBe(7)
      expect(rows[0]!.b).toBeInstanceOf(Uint8Array)
      expect([...rows[0]!.b]).toEqual([1, 2, 255])
    })

    it('runs a batch all or nothing', async () => {
      const store = await fresh(open)
      await store.exec('CREATE TABLE t (k TEXT PRIMARY KEY)')
      await expect(store.batch([
        { sql: 'INSERT INTO t VALUES (?)', params: ['x'] },
        { sql: 'INSERT INTO t VALUES (?)', params: ['x'] },
      ])).rejects.toThrow()
      expect(await store.all('SELECT k FROM t')).toEqual([])
      await store.batch([{ sql: 'INSERT INTO t VALUES (?)', params: ['y'] }])
      expect(await store.all('SELECT k FROM t')).toEqual([{ k: 'y' }])
    })

    it('carries the region index: feed applied, manifest by tag read back', async () => {
      const index = await createSqlIndex(await fresh(open))
      const c = changeLog()
      const digest = 'sha256:' + 'd'.repeat(64)
      await index.apply([c.manifestPut(manifestBody('r', digest, '{"ok":true}')), c.tagSet({ repository: 'r', tag: 'v1', digest })])
      const manifest = await index.manifest('r', { kind: 'tag', tag: 'v1' })
      expect(new TextDecoder().decode(manifest!.payload)).toBe('{"ok":true}')
      expect(await index.position()).toBe(2)
    })

    it('carries repository visibility: made public by the feed, private again', async () => {
      const index = await createSqlIndex(await fresh(open))
      const c = changeLog()
      await index.apply([c.repositoryVisibility({ repository: 'open/app', public: true })])
      expect(await index.isPublic('open/app')).toBe(true)
      expect(await index.isPublic('closed/app')).toBe(false)
      await index.apply([c.repositoryVisibility({ repository: 'open/app', public: false })])
      expect(await index.isPublic('open/app')).toBe(false)
    })
  })
}
