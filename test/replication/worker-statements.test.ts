// What one replication job costs the database: every statement the worker sends, counted at the
// executor (PostgreSQL: each is a round trip on the replication lag, plus BEGIN and COMMIT per
// transaction), and the worker's CPU per job, printed. The bounds are today's counts: a change
// that adds a read or a write per job fails here. What the cuts must keep is checked beside them:
// each copy's placement present, its job done, one 'placement.present' per new placement in the
// change log (none for one already present), a late completion fenced, and a completion's change
// never committed ahead of a transaction already holding the change log (a feed reader would skip
// the earlier seq).

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase, type Db } from '../../db/client.ts'
import type { Executor } from '../../db/executor.ts'
import { commitBlob } from '../../db/queries/blobs.ts'
import { appendChange, CHANGE_LOG_LOCK, changesSince } from '../../db/queries/changes.ts'
import { enqueueReplication, placementsOf } from '../../db/queries/placements.ts'
import { claimDueJobs, completeJob, jobsOf } from '../../db/queries/replication.ts'
import { CHANGES_CHANNEL, listenForCommits } from '../../db/notify.ts'
import { createNativeHasher } from '../../origin/hasher.ts'
import { createLocationSet, type LocationSet } from '../../origin/locations.ts'
import { createLogger } from '../../origin/log.ts'
import { createReplicationWorker } from '../../origin/replication/worker.ts'
import type { LocationConfig, ReplicationConfig } from '../../origin/config/types.ts'
import { blobKey } from '../../storage/keys.ts'
import { openTestDatabase, testDatabaseKind, testDatabaseUrl } from '../helpers/test-database.ts'

const IDS = ['us', 'eu', 'ap']
const BLOBS = 30
const CONFIG: ReplicationConfig = {
  enabled: true, workerInProcess: true, maxAttempts: 5, concurrency: 1, leaseSeconds: 60,
  backoffBaseMs: 10, backoffMaxMs: 10, reconcileIntervalSeconds: 60, jobRetentionHours: 168,
}

/** Counts what `db` sends from now on: statements alone, transactions, statements in them. */
function countStatements(db: Db) {
  const executor = db.$executor as { -readonly [K in keyof Executor]: Executor[K] }
  const counts = { statements: 0, transactions: 0, texts: [] as string[] }
  const query = executor.query.bind(executor)
  const transaction = executor.transaction.bind(executor)
  executor.query = (text, params, method) => { counts.statements++; counts.texts.push(text); return query(text, params, method) }
  executor.transaction = (fn) => {
    counts.transactions++
    return transaction((tx) => fn({ ...tx, query: (text, params, method) => { counts.statements++; counts.texts.push(text); return tx.query(text, params, method) } }))
  }
  return counts
}

describe(`statements and CPU per replication job (${testDatabaseKind()})`, () => {
  let dir: string
  let db: Db
  let locations: LocationSet
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-job-cost-'))
    db = await openDatabase(await testDatabaseUrl(dir))
    const configs: LocationConfig[] = IDS.map((id, i) => ({ id, driver: 'fs', params: { root: join(dir, id) }, lat: i * 10, lon: 0, replicateByDefault: true, serve: 'proxy', readOnly: false }))
    locations = createLocationSet(configs, IDS)
  })
  afterAll(async () => {
    await closeDatabase(db)
    rmSync(dir, { recursive: true, force: true })
  })

  it('copies each blob to the two other locations in a bounded number of statements', async () => {
    const digests: string[] = []
    for (let i = 0; i < BLOBS; i++) {
      const bytes = randomBytes(4096)
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
      await locations.get('us')!.engine.put(blobKey(digest), new Blob([bytes]).stream(), { size: bytes.length })
      await commitBlob(db, { repository: 'team/app', digest, size: bytes.length, location: 'us', targetsFor: () => IDS })
      digests.push(digest)
    }
    const worker = createReplicationWorker({ db, locations, createHasher: createNativeHasher, config: CONFIG, log: createLogger({ level: 'info', write: () => {} }), targetsFor: () => IDS })
    const counts = countStatements(db)
    const cpu = process.cpuUsage()
    const started = performance.now()
    await worker.drain()
    const used = process.cpuUsage(cpu)
    const { statements, transactions } = counts
    const jobs = BLOBS * (IDS.length - 1)
    const perJob = (statements + 2 * transactions) / jobs
    console.log(`${testDatabaseKind()}: ${jobs} jobs, ${(statements / jobs).toFixed(2)} statements and ${(transactions / jobs).toFixed(2)} transactions per job` +
      ` (${perJob.toFixed(2)} round trips with BEGIN/COMMIT), ${((used.user + used.system) / 1000 / jobs).toFixed(2)} ms CPU and ${((performance.now() - started) / jobs).toFixed(2)} ms wall per job`)
    const distinct = new Map<string, number>()
    for (const t of counts.texts) distinct.set(t.replace(/\s+/g, ' ').slice(0, 90), (distinct.get(t.replace(/\s+/g, ' ').slice(0, 90)) ?? 0) + 1)
    console.log([...distinct].map(([t, n]) => `${n}\t${t}`).join('\n'))

    for (const digest of digests) {
      expect((await placementsOf(db, digest)).map((p) => `${p.location} ${p.state}`).sort()).toEqual(IDS.map((l) => `${l} present`).sort())
      expect((await jobsOf(db, digest)).map((j) => `${j.state} ${j.leaseOwner}`)).toEqual(['done null', 'done null'])
    }
    const announced = (await changesSince(db, 0, 10_000)).filter((c) => c.kind === 'placement.present' && c.payload.location !== 'us')
    expect(announced.length).toBe(jobs)
    // A claim per job at concurrency 1 (SQLite looks first, so an idle poll takes no write lock),
    // then the completion: one statement on PostgreSQL; SQLite's transaction writes placement,
    // change and job.
    if (testDatabaseKind() === 'postgres') expect(perJob).toBeLessThanOrEqual(2.1)
    else expect(statements / jobs).toBeLessThanOrEqual(5.1)
    expect(transactions / jobs).toBeLessThanOrEqual(testDatabaseKind() === 'postgres' ? 0 : 1)
  })

  it('fences a late completion, announces a placement once, and refreshes one already present silently', async () => {
    const digest = `sha256:${'5e'.repeat(32)}`
    await commitBlob(db, { repository: 'team/fenced', digest, size: 5, location: 'us', targetsFor: () => ['us', 'eu'], now: 1000 })
    const [stale] = await claimDueJobs(db, { owner: 'w1', limit: 1, leaseMs: 100, now: 1000 })
    const [held] = await claimDueJobs(db, { owner: 'w2', limit: 1, leaseMs: 60_000, now: 2000 })
    expect([stale!.digest, held!.id, held!.leaseOwner]).toEqual([digest, stale!.id, 'w2'])
    const heard: number[] = []
    const stop = await listenForCommits(db, CHANGES_CHANNEL, () => heard.push(Date.now()))
    try {
      const announcements = async () => (await changesSince(db, 0, 10_000)).filter((c) => c.kind === 'placement.present' && c.payload.digest === digest && c.payload.location === 'eu').length
      await completeJob(db, stale!, { size: 5, source: 'us', now: 3000 })
      expect((await jobsOf(db, digest)).map((j) => `${j.state} ${j.leaseOwner}`)).toEqual(['running w2'])
      expect(await announcements()).toBe(1)
      await new Promise((r) => setTimeout(r, 200))
      const afterFirst = heard.length
      await completeJob(db, held!, { size: 5, source: 'us', now: 4000 })
      expect((await jobsOf(db, digest)).map((j) => `${j.state} ${j.leaseOwner} ${j.finishedAt}`)).toEqual(['done null 4000'])
      expect((await placementsOf(db, digest)).find((p) => p.location === 'eu')).toMatchObject({ state: 'present', verifiedAt: 4000 })
      expect(await announcements()).toBe(1)
      // PostgreSQL: nothing appended, so no feed listener woken (LISTEN is nothing on SQLite).
      await new Promise((r) => setTimeout(r, 200))
      expect(heard.length).toBe(afterFirst)
    } finally {
      await stop()
    }
  })

  it("commits a completion's change after a transaction already holding the change log", async () => {
    const digest = `sha256:${'0d'.repeat(32)}`
    await commitBlob(db, { repository: 'team/order', digest, size: 5, location: 'us', targetsFor: () => ['us', 'eu'] })
    const [job] = (await claimDueJobs(db, { owner: 'w', limit: 10, leaseMs: 60_000 })).filter((j) => j.digest === digest)
    const after = (await changesSince(db, 0, 10_000)).at(-1)!.seq
    let flushed!: () => void
    const lingering = new Promise<void>((r) => { flushed = r })
    const first = db.transaction(async (tx) => {
      await appendChange(tx, 'tag.set', 'team/first', {})
      tx.$beforeCommit.push(() => { flushed(); return new Promise<void>((r) => setTimeout(r, 600)) })
    })
    await lingering
    const completion = completeJob(db, job!, { size: 5, source: 'us' })
    await new Promise((r) => setTimeout(r, 250))
    // Its seq comes after the first's: committed meanwhile, a reader would see it alone and move
    // past the first. (On SQLite the read waits for the open transaction; on PostgreSQL it sees
    // what has committed: nothing yet.)
    expect([[], ['tag.set'], ['tag.set', 'placement.present']]).toContainEqual((await changesSince(db, after)).map((c) => c.kind))
    await Promise.all([first, completion])
    expect((await changesSince(db, after)).map((c) => c.kind)).toEqual(['tag.set', 'placement.present'])
  })

  it.skipIf(testDatabaseKind() !== 'postgres')("takes a completion's seq only once it holds the change-log lock", async () => {
    const digest = `sha256:${'1c'.repeat(32)}`
    await commitBlob(db, { repository: 'team/lock', digest, size: 5, location: 'us', targetsFor: () => ['us', 'eu'] })
    const [job] = (await claimDueJobs(db, { owner: 'w', limit: 10, leaseMs: 60_000 })).filter((j) => j.digest === digest)
    const after = (await changesSince(db, 0, 10_000)).at(-1)!.seq
    let locked!: () => void
    let release!: () => void
    const holding = new Promise<void>((r) => { locked = r })
    const released = new Promise<void>((r) => { release = r })
    // A transaction holds the change-log lock first and appends only afterwards: a completion that
    // took its seq before waiting for the lock would get the lower seq and commit second.
    const holder = db.transaction(async (tx) => {
      await tx.$execute('select pg_advisory_xact_lock(?)', [CHANGE_LOG_LOCK], 'run')
      locked()
      await released
      await appendChange(tx, 'tag.set', 'team/holder', {})
    })
    await holding
    const completion = completeJob(db, job!, { size: 5, source: 'us' })
    await new Promise((r) => setTimeout(r, 250))
    release()
    await Promise.all([holder, completion])
    expect((await changesSince(db, after)).map((c) => c.kind)).toEqual(['tag.set', 'placement.present'])
  })

  it('claims a job whose lease expired before a pending one, and dead-letters one whose workers kept dying', async () => {
    const t = await openTestDatabase('meridian-claim-order-')
    try {
      const [a, b] = [`sha256:${'a1'.repeat(32)}`, `sha256:${'b2'.repeat(32)}`]
      await t.db.transaction(async (tx) => { await enqueueReplication(tx, a, ['eu'], 1000) })
      const [first] = await claimDueJobs(t.db, { owner: 'w1', limit: 1, leaseMs: 100, maxAttempts: 2, now: 1000 })
      await t.db.transaction(async (tx) => { await enqueueReplication(tx, b, ['eu'], 1000) })
      // w1 died: its lease ran out at 1100. The expired job goes first, though b is due too.
      const [again] = await claimDueJobs(t.db, { owner: 'w2', limit: 1, leaseMs: 100, maxAttempts: 2, now: 2000 })
      expect([first!.digest, again!.digest, again!.attempts, again!.lastError]).toEqual([a, a, 1, 'lease expired (worker stopped mid-copy)'])
      expect(again!.blob).toMatchObject({ size: null, present: [], namespaces: [], queued: [] })
      // b was not taken by the look that found the expired job: still pending, never attempted.
      expect((await jobsOf(t.db, b)).map((j) => [j.state, j.leaseOwner, j.attempts])).toEqual([['pending', null, 0]])
      // w2 died too: a's second expiry makes 2 attempts, a dead letter; b is claimed instead.
      const [next] = await claimDueJobs(t.db, { owner: 'w3', limit: 1, leaseMs: 100, maxAttempts: 2, now: 3000 })
      expect(next!.digest).toBe(b)
      expect((await jobsOf(t.db, a)).map((j) => [j.state, j.lastError])).toEqual([['dead', 'lease expired 2 times (the worker died during each copy)']])
    } finally {
      await t.close()
    }
  })
})
