// The embedded default: one better-sqlite3 connection (WAL) behind an async gate.
//
// better-sqlite3 runs each statement synchronously, but Meridian's transactions are async (so the
// same code runs on PostgreSQL, whose statements are network round trips). One connection means
// one transaction at a time: while a transaction is open, statements from anyone else wait for it
// to end, so nothing outside joins it or reads its uncommitted rows. The transaction itself is
// BEGIN IMMEDIATE: it takes SQLite's write lock up front, so another process (npm run worker, a
// script) waits busy_timeout for it instead of failing with SQLITE_BUSY_SNAPSHOT.

import type BetterSqlite3 from 'better-sqlite3'
import { AsyncLocalStorage } from 'node:async_hooks'
import { resolve } from 'node:path'
import { TransactionEnded, type Executor, type Method, type StatementResult } from './executor.ts'
import { loadSqliteDriver } from './sqlite-driver.ts'

/**
 * One connection per database file per process, shared by every handle opened on it (two origins
 * in one test process, a script beside its origin). Two connections of one process could deadlock:
 * a transaction holds the write lock across awaits, and the other connection's BEGIN IMMEDIATE
 * would wait for it synchronously, blocking the very event loop that must finish it.
 */
const shared = new Map<string, { executor: Executor & { sqlite: BetterSqlite3.Database }; handles: number }>()

/** `prepare` runs once, when the connection is opened (migrations); if it throws, nothing stays open. */
export function openSharedSqliteExecutor(path: string, prepare: (sqlite: BetterSqlite3.Database) => void): Executor & { sqlite: BetterSqlite3.Database } {
  const fresh = (at: string) => {
    const executor = openSqliteExecutor(at)
    try {
      prepare(executor.sqlite)
    } catch (err) {
      executor.sqlite.close()
      throw err
    }
    return executor
  }
  if (path === ':memory:') return fresh(path)
  const key = resolve(path)
  let entry = shared.get(key)
  if (!entry) {
    entry = { executor: fresh(key), handles: 0 }
    shared.set(key, entry)
  }
  entry.handles++
  const { executor } = entry
  let closed = false
  return {
    ...executor,
    async close() {
      if (closed) return
      closed = true
      if (--entry.handles === 0) {
        shared.delete(key)
        await executor.close()
      }
    },
  }
}

/** Statements are prepared once per SQL text; texts come from code, this bounds the odd variadic IN list. */
const STATEMENT_CACHE = 1000

export function openSqliteExecutor(path: string): Executor & { sqlite: BetterSqlite3.Database } {
  const Sqlite = loadSqliteDriver()
  const sqlite = new Sqlite(path)
  sqlite.pragma('journal_mode = WAL')
  // FULL: a commit that returned survives power loss, not only a process crash (§4.3).
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  const statements = new Map<string, BetterSqlite3.Statement>()
  /** The open transaction's end, or null. */
  let open: Promise<void> | null = null
  // The transaction a piece of async work was started in. An object whose `live` ends with the
  // transaction: a timer or promise chain started inside one outlives it and must not count as in it.
  const inTransaction = new AsyncLocalStorage<{ live: boolean }>()

  function prepare(text: string): BetterSqlite3.Statement {
    let st = statements.get(text)
    if (!st) {
      if (statements.size >= STATEMENT_CACHE) statements.clear()
      st = sqlite.prepare(text)
      statements.set(text, st)
    }
    return st
  }

  function run(text: string, params: unknown[], method: Method): StatementResult {
    const st = prepare(text)
    if (!st.reader) {
      const r = st.run(...params)
      return { rows: [], changes: r.changes }
    }
    if (method === 'objects') return { rows: st.raw(false).all(...params), changes: 0 }
    st.raw(true)
    if (method === 'get') return { rows: st.get(...params), changes: 0 }
    if (method === 'run') {
      // A write with RETURNING, run for its effect.
      const rows = st.all(...params)
      return { rows: [], changes: rows.length }
    }
    return { rows: st.all(...params), changes: 0 }
  }

  const executor: Executor & { sqlite: BetterSqlite3.Database } = {
    dialect: 'sqlite',
    sqlite,
    async query(text, params, method) {
      if (open && inTransaction.getStore()?.live) {
        throw new Error(`a statement on the database itself inside a transaction (use the transaction's handle): ${text.slice(0, 120)}`)
      }
      while (open) await open
      return run(text, params, method)
    },
    async transaction(fn) {
      if (inTransaction.getStore()?.live) throw new Error('nested transaction: pass the open transaction down instead')
      while (open) await open
      let end!: () => void
      open = new Promise<void>((resolve) => { end = resolve })
      const state = { live: true }
      const tx: Executor = {
        dialect: 'sqlite',
        async query(text, params, method) {
          if (!state.live) throw new TransactionEnded(text)
          return run(text, params, method)
        },
        transaction: () => { throw new Error('nested transaction: use the open one') },
        close: () => Promise.reject(new Error('close the database, not a transaction')),
      }
      try {
        prepare('BEGIN IMMEDIATE').run()
        try {
          const result = await inTransaction.run(state, () => fn(tx))
          prepare('COMMIT').run()
          return result
        } catch (err) {
          if (sqlite.inTransaction) prepare('ROLLBACK').run()
          throw err
        }
      } finally {
        state.live = false
        open = null
        end()
      }
    },
    async close() {
      while (open) await open
      sqlite.close()
    },
  }
  return executor
}
