// PostgreSQL (scale-out): a pg pool. Statements arrive as drizzle's SQLite-dialect text
// (db/postgres-sql.ts numbers the placeholders) and run as named prepared statements.
// Transactions are SERIALIZABLE, the isolation SQLite's single writer gave the code written for
// it, and run concurrently: a serialization failure or deadlock re-runs the whole transaction
// (db/executor.ts: a transaction function does only database work, so running it again is safe).
// The one thing that must be serial, the change log's seqs committing in order, is done at commit
// time in a few milliseconds (db/queries/changes.ts: appends are written just before COMMIT under
// a transaction-scoped advisory lock).

import pg from 'pg'
import { TransactionEnded, type Executor, type Method, type StatementResult } from './executor.ts'
import { toPostgres } from './postgres-sql.ts'

/** 40001 serialization_failure, 40P01 deadlock_detected: the transaction can simply run again. */
const RETRYABLE = new Set(['40001', '40P01'])
const MAX_ATTEMPTS = 40
/**
 * Every pooled session: a wait for a lock (the change log's included) or a transaction left idle
 * by a hung or partitioned process ends after these, instead of stalling other writers until TCP
 * notices (keepAlive is on too).
 */
const SESSION_LIMITS = '-c lock_timeout=30000 -c idle_in_transaction_session_timeout=60000'
const NAMED_STATEMENTS = 2000

// int8 (counts, sizes, millisecond times) and numeric (sums) as numbers: every value Meridian
// stores is far below 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v)
    return pg.types.getTypeParser(oid, format)
  },
}

export interface PostgresExecutor extends Executor {
  readonly pool: pg.Pool
  /** Calls `onNotify` for every NOTIFY on `channel` (a dedicated connection; reconnects). */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>
}

export function openPostgresExecutor(url: string, options: { max?: number } = {}): PostgresExecutor {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, types, keepAlive: true, options: SESSION_LIMITS })
  // An idle client that loses its server (restart, failover) must not crash the process.
  pool.on('error', () => {})
  // LISTEN: one connection per process for every channel, reconnected when lost.
  const listeners = new Map<string, Set<(payload: string) => void>>()
  let listener: Promise<pg.Client> | null = null
  let closed = false
  const listenerClient = (): Promise<pg.Client> => (listener ??= connectListener())
  async function connectListener(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: url, keepAlive: true })
    c.on('notification', (m) => { for (const fn of listeners.get(m.channel) ?? []) fn(m.payload ?? '') })
    const lost = () => {
      if (listener === null) return
      listener = null
      c.end().catch(() => {})
      if (closed || listeners.size === 0) return
      // Reconnect; meanwhile notifications are missed, so wake everyone once it is back (their
      // own slow polls cover the gap either way).
      const retry = () => {
        if (closed || listeners.size === 0) return
        listenerClient().then(() => { for (const set of listeners.values()) for (const fn of set) fn('') }, () => {
          listener = null
          setTimeout(retry, 1000).unref?.()
        })
      }
      setTimeout(retry, 500).unref?.()
    }
    c.on('error', lost)
    c.on('end', lost)
    try {
      await c.connect()
      for (const channel of listeners.keys()) await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
    } catch (err) {
      c.removeListener('end', lost)
      await c.end().catch(() => {})
      throw err
    }
    return c
  }
  async function endListener(): Promise<void> {
    const pending = listener
    listener = null
    if (pending) await pending.then((c) => c.end(), () => {}).catch(() => {})
  }
  // drizzle's text → PostgreSQL's text and a prepared statement name, once per distinct query.
  const statements = new Map<string, { text: string; name: string }>()

  function translate(text: string): { text: string; name?: string } {
    const known = statements.get(text)
    if (known) return known
    const pgText = toPostgres(text)
    if (statements.size >= NAMED_STATEMENTS) return { text: pgText }
    const statement = { text: pgText, name: `m${statements.size}` }
    statements.set(text, statement)
    return statement
  }

  async function run(client: pg.Pool | pg.PoolClient, text: string, params: unknown[], method: Method): Promise<StatementResult> {
    const q = translate(text)
    const values = params.map(toParam)
    if (method === 'objects') {
      const r = await client.query({ text: q.text, name: q.name, values })
      return { rows: r.rows, changes: r.rowCount ?? 0 }
    }
    const r = await client.query({ text: q.text, name: q.name && `${q.name}a`, values, rowMode: 'array' })
    if (method === 'run') return { rows: [], changes: r.rowCount ?? 0 }
    if (method === 'get') return { rows: r.rows[0], changes: 0 }
    return { rows: r.rows, changes: 0 }
  }

  async function transact<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect()
      let live = true
      const tx: Executor = {
        dialect: 'postgres',
        query(text, params, method) {
          if (!live) return Promise.reject(new TransactionEnded(text))
          return run(client, text, params, method)
        },
        transaction: () => { throw new Error('nested transaction: use the open one') },
        close: () => Promise.reject(new Error('close the database, not a transaction')),
      }
      let broken = false
      try {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE')
        const result = await fn(tx)
        // A statement that failed inside the body (its error caught there) aborted the
        // transaction: PostgreSQL then answers COMMIT with ROLLBACK, and nothing was written.
        const commit = await client.query('COMMIT')
        if (commit.command === 'ROLLBACK') throw new TransactionAborted()
        return result
      } catch (err) {
        await client.query('ROLLBACK').catch(() => { broken = true })
        const code = sqlStateOf(err)
        if (!code || !RETRYABLE.has(code) || attempt >= MAX_ATTEMPTS) throw err
      } finally {
        live = false
        client.release(broken)
      }
      // Back off with jitter, the connection back in the pool meanwhile (32 pushes share 10): the
      // transactions that collided run again at different moments.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 * attempt)))
    }
  }

  return {
    dialect: 'postgres',
    pool,
    query: (text, params, method) => run(pool, text, params, method),
    transaction: (fn) => transact(fn),
    async listen(channel, onNotify) {
      let set = listeners.get(channel)
      if (!set) listeners.set(channel, set = new Set())
      set.add(onNotify)
      try {
        const c = await listenerClient()
        if (set.size === 1) await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      } catch (err) {
        set.delete(onNotify)
        if (set.size === 0) listeners.delete(channel)
        throw err
      }
      return async () => {
        set.delete(onNotify)
        if (set.size > 0) return
        listeners.delete(channel)
        if (listeners.size === 0) await endListener()
        else await listener?.then((c) => c.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`)).catch(() => {})
      }
    },
    async close() {
      closed = true
      await endListener()
      await pool.end()
    },
  }
}

/** A transaction whose body swallowed a failed statement: PostgreSQL rolled all of it back. */
export class TransactionAborted extends Error {
  constructor() {
    super('the transaction was rolled back: a statement in it failed (its error was caught inside the transaction)')
    this.name = 'TransactionAborted'
  }
}

/** The SQLSTATE of a pg error, also when drizzle wrapped it (DrizzleQueryError keeps it as `cause`). */
export function sqlStateOf(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code
  }
  return undefined
}

/** SQLite-shaped values as PostgreSQL takes them: booleans are stored as 0/1 integers on both. */
function toParam(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0
  return v
}
