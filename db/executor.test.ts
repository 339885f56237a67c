// The two executors under db/client.ts, on real engines: SQLite in a temp file, PostgreSQL on one
// throwaway cluster for this file (test/helpers/postgres.ts). What every query in db/queries
// relies on: a transaction is atomic and isolated, a statement issued after its transaction ended
// fails loudly, conflicting PostgreSQL transactions are retried to the right result, and values
// (counts, auto keys, booleans, bytes, big integers) read back the same on both engines.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { eq, sql } from 'drizzle-orm'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase, type Db, type Dialect } from './client.ts'
import { TransactionEnded } from './executor.ts'
import { TransactionAborted } from './postgres-executor.ts'
import { accounts, blobs, changes, manifests, replicationJobs, repositories, settings } from './schema.ts'
import { createDatabase, startPostgres, type PostgresCluster } from '../test/helpers/postgres.ts'

const dir = mkdtempSync(join(tmpdir(), 'meridian-executor-'))
const TEMPLATE = 'executor_template'
let cluster: Promise<PostgresCluster> | null = null
const opened: Db[] = []

/** One cluster for the file, started by the first PostgreSQL test, with a migrated template. */
async function postgresUrl(): Promise<string> {
  cluster ??= startPostgres().then(async (c) => {
    await createDatabase(c.url, TEMPLATE)
    await closeDatabase(await openDatabase(c.urlFor(TEMPLATE)))
    return c
  })
  const c = await cluster
  const name = `x_${randomBytes(6).toString('hex')}`
  await createDatabase(c.url, name, TEMPLATE)
  return c.urlFor(name)
}

/** A fresh, migrated, empty database on `dialect`, closed after the test. */
async function fresh(dialect: Dialect): Promise<Db> {
  const url = dialect === 'sqlite' ? `sqlite:${join(dir, `${randomBytes(6).toString('hex')}.db`)}` : await postgresUrl()
  const db = await openDatabase(url)
  opened.push(db)
  return db
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => closeDatabase(db)))
})

afterAll(async () => {
  await (await cluster)?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))
const setting = (name: string, value = 'v') => ({ name, value, createdAt: 1 })
const valueOf = async (db: Db, name: string) => (await db.select().from(settings).where(eq(settings.name, name)).get())?.value

/**
 * The error a statement failed with. drizzle wraps every failure of a builder's statement in a
 * DrizzleQueryError ("Failed query: …") whose `cause` is the executor's error.
 */
function rootCause(err: unknown): unknown {
  while (err instanceof Error && err.cause !== undefined) err = err.cause
  return err
}

/** A promise and the function that resolves it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((r) => { open = r })
  return { wait, open }
}

describe.each(['sqlite', 'postgres'] as const)('%s executor', (dialect) => {
  it('keeps a transaction\'s writes from everyone else until it commits', async () => {
    const db = await fresh(dialect)
    const written = gate()
    const finish = gate()
    const tx = db.transaction(async (t) => {
      await t.insert(settings).values(setting('k', 'inside')).run()
      expect(await valueOf(t, 'k')).toBe('inside') // its own writes, it sees
      written.open()
      await finish.wait
      return 'committed'
    })
    await written.wait
    // A reader outside the transaction: PostgreSQL answers from the last commit; SQLite's one
    // connection makes it wait for the transaction to end.
    const outside = valueOf(db, 'k')
    const early = await Promise.race([outside, sleep(150)])
    expect(early).toBe(dialect === 'postgres' ? undefined : 'pending')
    finish.open()
    expect(await tx).toBe('committed')
    if (dialect === 'sqlite') expect(await outside).toBe('inside') // it ran after the commit
    expect(await valueOf(db, 'k')).toBe('inside')
  })

  it('rolls every write back when the body throws, and rethrows its error', async () => {
    const db = await fresh(dialect)
    await db.insert(settings).values(setting('before')).run()
    const boom = new Error('boom')
    await expect(db.transaction(async (t) => {
      await t.insert(settings).values(setting('k')).run()
      await t.update(settings).set({ value: 'changed' }).where(eq(settings.name, 'before')).run()
      throw boom
    })).rejects.toBe(boom)
    expect(await db.select().from(settings).all()).toEqual([setting('before')])
  })

  it('fails a statement on the transaction handle after the transaction ended (a missing await)', async () => {
    const db = await fresh(dialect)
    let kept!: Db
    await db.transaction(async (t) => { kept = t })
    const ended = (p: Promise<unknown>) => p.then(() => 'ran', (err) => rootCause(err))
    expect(await ended(kept.insert(settings).values(setting('late')).run())).toBeInstanceOf(TransactionEnded)
    expect(await ended(kept.$execute('select 1', [], 'all'))).toBeInstanceOf(TransactionEnded)
    // The same after a rollback; and the database itself stays usable.
    await db.transaction(async (t) => { kept = t; throw new Error('rolled back') }).catch(() => {})
    expect(await ended(kept.select().from(settings).all())).toBeInstanceOf(TransactionEnded)
    expect(await valueOf(db, 'late')).toBeUndefined()
  })

  it('never reports a commit for writes it threw away: a failed statement caught inside the body', async () => {
    const db = await fresh(dialect)
    await db.insert(settings).values(setting('taken')).run()
    const outcome = await db.transaction(async (t) => {
      await t.insert(settings).values(setting('kept')).run()
      // A duplicate key, caught (e.g. "insert, or it exists already"). SQLite carries on; a
      // PostgreSQL transaction is aborted by it and its COMMIT answers ROLLBACK, which the
      // executor must turn into an error (TransactionAborted), never a resolved transaction.
      await t.insert(settings).values(setting('taken')).run().catch(() => {})
      return 'resolved'
    }).catch((err) => rootCause(err))
    if (dialect === 'sqlite') {
      expect(outcome).toBe('resolved')
      expect(await valueOf(db, 'kept')).toBe('v')
    } else {
      expect(outcome).toBeInstanceOf(TransactionAborted)
      expect(await valueOf(db, 'kept')).toBeUndefined()
    }
  })

  // The same race twice: through drizzle's builders (how db/queries writes), and through raw
  // $execute (no drizzle in between).
  it.each([
    ['drizzle builders', async (t: Db) => {
      const row = await t.select().from(settings).where(eq(settings.name, 'counter')).get()
      await sleep(10) // hold the read open so that the others read the same value
      await t.update(settings).set({ value: String(Number(row!.value) + 1) }).where(eq(settings.name, 'counter')).run()
    }],
    ['raw $execute', async (t: Db) => {
      const row = (await t.$execute('select value from settings where name = ?', ['counter'], 'get')).rows as [string]
      await sleep(10)
      await t.$execute('update settings set value = ? where name = ?', [String(Number(row[0]) + 1), 'counter'], 'run')
    }],
  ] as const)('runs 20 concurrent read-increment-write transactions to the right count (%s)', async (_, increment) => {
    const db = await fresh(dialect)
    await db.insert(settings).values(setting('counter', '0')).run()
    let attempts = 0
    const n = 20
    await Promise.all(Array.from({ length: n }, () => db.transaction(async (t) => {
      attempts++
      await increment(t)
    })))
    expect(await valueOf(db, 'counter')).toBe(String(n))
    // SQLite runs them one at a time; on PostgreSQL they overlap, and the losers run again.
    if (dialect === 'sqlite') expect(attempts).toBe(n)
    else expect(attempts).toBeGreaterThanOrEqual(n)
  })

  it('re-runs a transaction that a single-statement write made fail to serialize (PostgreSQL), with the right result', async () => {
    const db = await fresh(dialect)
    await db.insert(settings).values(setting('counter', '0')).run()
    let attempts = 0
    await db.transaction(async (t) => {
      attempts++
      const row = (await t.$execute('select value from settings where name = ?', ['counter'], 'get')).rows as [string]
      // A statement outside any transaction (as job claims and lease renewals are) changes the row
      // this transaction read, once: its write must not be based on the stale read.
      if (attempts === 1) await db.$execute("update settings set value = '10' where name = 'counter'", [], 'run')
      await t.$execute('update settings set value = ? where name = ?', [String(Number(row[0]) + 1), 'counter'], 'run')
    }).catch((err: unknown) => {
      // SQLite: the outside statement waits for the transaction, which therefore cannot await it.
      if (dialect !== 'sqlite') throw err
    })
    if (dialect === 'postgres') {
      expect(attempts).toBe(2)
      expect(await valueOf(db, 'counter')).toBe('11')
    }
  })

  it('reports the rows a statement changed in run().changes, on the database and in a transaction', async () => {
    const db = await fresh(dialect)
    expect((await db.insert(settings).values([setting('a'), setting('b'), setting('c')]).run()).changes).toBe(3)
    expect((await db.insert(settings).values(setting('a')).onConflictDoNothing().run()).changes).toBe(0)
    expect((await db.update(settings).set({ value: 'w' }).where(sql`${settings.name} in ('a', 'b')`).run()).changes).toBe(2)
    expect((await db.delete(settings).where(eq(settings.name, 'missing')).run()).changes).toBe(0)
    const inTx = await db.transaction(async (t) => (await t.delete(settings).run()).changes)
    expect(inTx).toBe(3)
    expect((await db.$execute('insert into settings (name, value, created_at) values (?, ?, ?)', ['d', 'v', 1], 'run')).changes).toBe(1)
  })

  it('gives a row inserted without its autoincrement key the next key (PostgreSQL: its sequence)', async () => {
    const db = await fresh(dialect)
    const seqs = [
      (await db.insert(changes).values({ kind: 'k', payload: '{}', at: 1 }).returning({ seq: changes.seq }).get())!.seq,
      (await db.insert(changes).values({ kind: 'k', payload: '{}', at: 2 }).returning({ seq: changes.seq }).get())!.seq,
    ]
    expect(seqs).toEqual([1, 2])
    // Every table whose key is assigned (db/migrations-pg/0001_serial_keys.sql names four).
    const repo = await db.insert(repositories).values({ name: 'r', createdAt: 1 }).returning().get()
    const job = await db.insert(replicationJobs).values({ digest: 'd', location: 'l', state: 'pending', dueAt: 1, createdAt: 1, updatedAt: 1 }).returning().get()
    const account = await db.insert(accounts).values({ name: 'a', kind: 'user', secretHash: 'h', createdAt: 1, updatedAt: 1 }).returning().get()
    expect([repo!.id, job!.id, account!.id]).toEqual([1, 1, 1])
    expect(job!.attempts).toBe(0) // a column default applies on both
  })

  it('round-trips booleans, and filters on them', async () => {
    const db = await fresh(dialect)
    await db.insert(accounts).values([
      { name: 'admin', kind: 'user', secretHash: 'h', isAdmin: true, createdAt: 1, updatedAt: 1 },
      { name: 'plain', kind: 'user', secretHash: 'h', createdAt: 1, updatedAt: 1 },
    ]).run()
    const rows = await db.select({ name: accounts.name, isAdmin: accounts.isAdmin, disabled: accounts.disabled }).from(accounts).orderBy(accounts.name).all()
    expect(rows).toEqual([{ name: 'admin', isAdmin: true, disabled: false }, { name: 'plain', isAdmin: false, disabled: false }])
    expect(await db.select({ name: accounts.name }).from(accounts).where(eq(accounts.isAdmin, true)).all()).toEqual([{ name: 'admin' }])
  })

  it('round-trips bytes as a Buffer (PostgreSQL: bytea)', async () => {
    const db = await fresh(dialect)
    const payload = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256))
    const repo = await db.insert(repositories).values({ name: 'r', createdAt: 1 }).returning().get()
    await db.insert(manifests).values({ repositoryId: repo!.id, digest: 'sha256:m', mediaType: 'x', size: payload.length, payload, createdAt: 1 }).run()
    const row = await db.select({ payload: manifests.payload }).from(manifests).get()
    expect(Buffer.isBuffer(row!.payload)).toBe(true)
    expect(row!.payload.equals(payload)).toBe(true)
  })

  it('reads integers above 2^31 (sizes, millisecond times), sums and counts back as numbers', async () => {
    const db = await fresh(dialect)
    const big = 5 * 2 ** 32 + 7
    const now = Date.now()
    await db.insert(blobs).values([{ digest: 'a', size: big, createdAt: now }, { digest: 'b', size: 2 ** 31, createdAt: now }]).run()
    expect(await db.select().from(blobs).orderBy(blobs.digest).all()).toEqual([
      { digest: 'a', size: big, createdAt: now }, { digest: 'b', size: 2 ** 31, createdAt: now },
    ])
    const [totals] = await db.$all<{ n: number; total: number }>(sql`select count(*) as n, sum(${blobs.size}) as total from ${blobs}`)
    expect(totals).toEqual({ n: 2, total: big + 2 ** 31 })
    expect(await db.select().from(blobs).where(eq(blobs.size, big)).get()).toMatchObject({ digest: 'a' })
  })
})

describe('sqlite executor: one connection, one transaction at a time', () => {
  it('refuses a statement on the database itself inside a transaction, at once (it would wait for itself forever)', async () => {
    const db = await fresh('sqlite')
    const attempt = db.transaction(async () => {
      await db.insert(settings).values(setting('wrong handle')).run()
    }).then(() => 'ran', (err) => rootCause(err))
    const outcome = await Promise.race([attempt, sleep(5000)])
    expect(outcome).toBeInstanceOf(Error)
    expect((outcome as Error).message).toMatch(/use the transaction's handle/)
    // The transaction rolled back and released the connection.
    expect(await db.select().from(settings).all()).toEqual([])
    await expect(db.transaction(async () => db.transaction(async () => 1))).rejects.toThrow(/nested transaction/)
  })

  it('makes statements and transactions from other async contexts wait for the open transaction', async () => {
    const db = await fresh('sqlite')
    const order: string[] = []
    const started = gate()
    const finish = gate()
    const first = db.transaction(async (t) => {
      order.push('tx1 begins')
      await t.insert(settings).values(setting('a', '1')).run()
      started.open()
      await finish.wait
      await t.update(settings).set({ value: '2' }).where(eq(settings.name, 'a')).run()
      order.push('tx1 ends')
    })
    await started.wait
    const read = valueOf(db, 'a').then((v) => { order.push(`read ${v}`) })
    const write = db.insert(settings).values(setting('b')).run().then(() => { order.push('write') })
    const second = db.transaction(async (t) => { order.push(`tx2 reads ${await valueOf(t, 'a')}`) })
    expect(await Promise.race([Promise.all([read, write, second]), sleep(150)])).toBe('pending')
    finish.open()
    await Promise.all([first, read, write, second])
    // Every waiter ran after the commit and saw its final value, none saw '1'.
    expect(order[0]).toBe('tx1 begins')
    expect(order[1]).toBe('tx1 ends')
    expect(order.slice(2).sort()).toEqual(['read 2', 'tx2 reads 2', 'write'])
  })

  // Work started inside a body (a timer, a promise chain) carries the transaction's async context
  // after it ended: it must then open transactions and wait for others like anyone else.
  it('lets work started inside a transaction use the database after that transaction ended', async () => {
    const db = await fresh('sqlite')
    let later!: Promise<unknown>
    await db.transaction(async () => {
      later = sleep(20).then(() => db.transaction(async (t) => t.select().from(settings).all()))
    })
    expect(await later).toEqual([])
  })
})
