// Replication jobs: claim with a lease, finish, fail with backoff, dead-letter, retry.
// Claims are one UPDATE … RETURNING statement, so two workers never claim the same job: on SQLite
// because one writer runs at a time, on PostgreSQL because the rows are picked FOR UPDATE SKIP
// LOCKED (a row another worker is claiming right now is passed over, not waited for) and the
// UPDATE re-checks that each row is still due.

import { and, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm'
import type { Db } from '../client.ts'
import type { Tx } from './changes.ts'
import { recordPlacement, replicationViewColumns, replicationViewOf, type ReplicationView } from './placements.ts'
import { blobs, replicationJobs } from '../schema.ts'
import { CHANGES_CHANNEL } from '../notify.ts'
import { CHANGE_LOG_LOCK } from './changes.ts'
import { sqlStateOf } from '../postgres-executor.ts'

export type Job = typeof replicationJobs.$inferSelect
/** A claimed job, with its blob as the claim found it (the copy's first read, folded into the claim). */
export type ClaimedJob = Job & { blob: ReplicationView }

export interface ClaimOptions {
  owner: string
  limit: number
  leaseMs: number
  /** A job whose lease expired this often (its worker died each time) is dead-lettered. */
  maxAttempts?: number
  now?: number
}

/**
 * Claims due jobs: pending ones whose time has come, and running ones whose lease expired (the
 * worker holding them died). A re-claim after an expired lease counts as a failed attempt.
 */
export async function claimDueJobs(db: Db, o: ClaimOptions): Promise<ClaimedJob[]> {
  const now = o.now ?? Date.now()
  if (o.limit <= 0) return []
  // Two kinds of due job, each picked by its own condition so the (state, due_at) index serves it
  // and a claim reads only what it takes: an OR of both made each claim scan and sort every due
  // job (3.5 ms per claim at 12,000 pending on PostgreSQL; the scale bench's backlog run).
  const pending = `state = 'pending' AND due_at <= ?`
  const expired = `state = 'running' AND lease_until < ?`
  if (db.$dialect === 'postgres') {
    // One round trip when no lease has expired (nearly always): the look below folded in.
    const first = await claimPendingUnlessExpired(db, o, now, pending, expired)
    if (first !== 'expired') return first
  }
  // Workers poll often: look with one read first, so an idle poll never takes SQLite's write lock.
  const [anyPending, anyExpired] = (await db.$execute(
    `SELECT EXISTS (SELECT 1 FROM replication_jobs WHERE ${pending}), EXISTS (SELECT 1 FROM replication_jobs WHERE ${expired})`,
    [now, now], 'get')).rows as [unknown, unknown]
  if (!anyPending && !anyExpired) return []
  const claimed: ClaimedJob[] = []
  if (anyExpired) {
    // Jobs whose workers died holding them maxAttempts times: dead letters, not another crash.
    if (o.maxAttempts) {
      await db.$execute(`UPDATE replication_jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL, finished_at = ?, updated_at = ?,
          last_error = 'lease expired ' || (attempts + 1) || ' times (the worker died during each copy)'
        WHERE ${expired} AND attempts + 1 >= ?`, [now, now, now, o.maxAttempts], 'run')
    }
    claimed.push(...await claimWhere(db, o, now, expired, '', o.limit))
  }
  if (anyPending && claimed.length < o.limit) claimed.push(...await claimWhere(db, o, now, pending, 'ORDER BY due_at', o.limit - claimed.length))
  return claimed
}

const CLAIM_SET = `SET state = 'running', lease_owner = ?, lease_until = ?, updated_at = ?,
           attempts = attempts + (CASE WHEN state = 'running' THEN 1 ELSE 0 END),
           last_error = CASE WHEN state = 'running' THEN 'lease expired (worker stopped mid-copy)' ELSE last_error END`

/**
 * PostgreSQL: claims pending jobs as claimWhere does, in the same statement as the look for an
 * expired lease; 'expired' (nothing claimed) when there is one, so that the caller takes those
 * first, as on SQLite. An idle poll is still one statement, and it takes no lock: nothing matched.
 */
async function claimPendingUnlessExpired(db: Db, o: ClaimOptions, now: number, pending: string, expired: string): Promise<ClaimedJob[] | 'expired'> {
  const { rows } = await db.$execute(`
    WITH x AS (SELECT EXISTS (SELECT 1 FROM replication_jobs WHERE ${expired}) AS expired),
    c AS (UPDATE replication_jobs ${CLAIM_SET}
       WHERE id = ANY(ARRAY(SELECT id FROM replication_jobs WHERE ${pending} AND NOT (SELECT expired FROM x) ORDER BY due_at LIMIT ? FOR UPDATE SKIP LOCKED))
         AND ${pending}
      RETURNING *, ${replicationViewColumns(db, 'replication_jobs.digest', false)})
    SELECT c.*, x.expired AS expired_due FROM x LEFT JOIN c ON true`, [now, o.owner, now + o.leaseMs, now, now, o.limit, now], 'objects')
  const all = rows as Record<string, unknown>[]
  if (all[0]?.expired_due) return 'expired'
  return all.filter((r) => r.id !== null && r.id !== undefined).map((r) => ({ ...fromRow(r), blob: replicationViewOf(r) }))
}

/** Claims up to `limit` jobs matching `condition` (one `?`: now), in one statement. */
async function claimWhere(db: Db, o: ClaimOptions, now: number, condition: string, order: string, limit: number): Promise<ClaimedJob[]> {
  // PostgreSQL may run an `IN (subquery)` again for each candidate row, and with SKIP LOCKED each
  // run picks other rows: a limit-4 claim once took 476 jobs (test/scale/claims.test.ts). ARRAY(…)
  // is evaluated once. SQLite runs the subquery once either way. The outer condition re-checks
  // each row as it is updated (a row another claim took meanwhile no longer matches).
  const pick = db.$dialect === 'postgres' ? ['= ANY(ARRAY(', 'FOR UPDATE SKIP LOCKED))'] : ['IN (', ')']
  const { rows } = await db.$execute(`
    UPDATE replication_jobs ${CLAIM_SET}
     WHERE id ${pick[0]}SELECT id FROM replication_jobs WHERE ${condition} ${order} LIMIT ? ${pick[1]}
       AND ${condition}
    RETURNING *, ${replicationViewColumns(db, 'replication_jobs.digest', false)}`, [o.owner, now + o.leaseMs, now, now, limit, now], 'objects')
  // Each job's blob (size, holders, namespaces) comes back with it: on PostgreSQL a read of its
  // own after the claim was one more round trip on every copy's lag.
  return (rows as Record<string, unknown>[]).map((r) => ({ ...fromRow(r), blob: replicationViewOf(r) }))
}

function fromRow(r: Record<string, unknown>): Job {
  return {
    id: r.id as number, digest: r.digest as string, location: r.location as string, state: r.state as Job['state'],
    attempts: r.attempts as number, dueAt: r.due_at as number, leaseOwner: r.lease_owner as string | null,
    leaseUntil: r.lease_until as number | null, lastError: r.last_error as string | null,
    sourceLocation: r.source_location as string | null, createdAt: r.created_at as number,
    updatedAt: r.updated_at as number, finishedAt: r.finished_at as number | null,
  }
}

/** Extends the lease of a job this worker still holds (long copies). */
export async function renewLease(db: Db, id: number, owner: string, leaseMs: number, now = Date.now()): Promise<boolean> {
  return (await db.update(replicationJobs).set({ leaseUntil: now + leaseMs, updatedAt: now })
    .where(and(eq(replicationJobs.id, id), eq(replicationJobs.leaseOwner, owner), eq(replicationJobs.state, 'running'))).run()).changes > 0
}

/**
 * The copy is stored and verified: placement 'present' and job 'done', atomically. The placement
 * is recorded whoever holds the lease now (the bytes are there either way); the job row only by
 * its lease holder. A job whose claim saw the blob row (ClaimedJob) writes none: blob rows are
 * never deleted, so that insert could only do nothing.
 */
export async function completeJob(db: Db, job: Job | ClaimedJob, c: { size: number; source: string; now?: number }): Promise<void> {
  const now = c.now ?? Date.now()
  const blobKnown = 'blob' in job && job.blob.size !== null
  if (db.$dialect === 'postgres') return completeInOneStatement(db, job, c.size, c.source, now, blobKnown)
  await db.transaction(async (tx) => {
    await recordPlacement(tx, { digest: job.digest, size: c.size, location: job.location, now, blobKnown })
    await tx.update(replicationJobs).set({ state: 'done', leaseOwner: null, leaseUntil: null, sourceLocation: c.source, lastError: null, updatedAt: now, finishedAt: now })
      .where(heldBy(job)).run()
  })
}

/**
 * PostgreSQL: completeJob's writes in one statement, one round trip where a transaction took six
 * (BEGIN, blob, placement, job, change log, COMMIT). What recordPlacement does: the placement
 * upserted (p answers a row only when it inserted it or turned it present), or refreshed when it
 * was present already; `placement.present` appended only when p answered, under the change log's
 * lock (db/queries/changes.ts), which the statement's own commit releases. The job is done only
 * if this worker still holds it (heldBy: fencing; READ COMMITTED re-checks the row after waiting
 * for its lock). The lock's subquery names p's row (`p.digest is not null`), which makes it
 * LATERAL: it runs per row of p, after p, and the seq (nextval, in the insert above it) is taken
 * only once the lock is held — the ordering that matters, checked by "takes a completion's seq only
 * once it holds the change-log lock" (test/replication/worker-statements.test.ts). That j and b
 * finish before the lock (its condition reads them) is how PostgreSQL evaluates a one-time filter's
 * subqueries today, not a documented order (WITH sub-statements run "concurrently"); were that to
 * change, the cost would be row locks waited for while the change log is held, not a misordered
 * seq. `refreshed` is referenced by nothing, so it runs when the statement finishes, after the lock,
 * and touches only the row p locked. A deadlock (a push's transaction locking the same rows in the
 * other order) rolls the statement back whole: it runs again.
 */
async function completeInOneStatement(db: Db, job: Job, size: number, source: string, now: number, blobKnown: boolean): Promise<void> {
  const payload = JSON.stringify({ digest: job.digest, location: job.location, size })
  const statement = sql`with
    p as (insert into placements (digest, location, state, size, verified_at) values (${job.digest}, ${job.location}, 'present', ${size}, ${now})
      on conflict (digest, location) do update set state = 'present', size = excluded.size, verified_at = excluded.verified_at
      where placements.state <> 'present' returning digest),
    refreshed as (update placements set size = ${size}, verified_at = ${now} where digest = ${job.digest} and location = ${job.location} and state = 'present'),
    j as (update replication_jobs set state = 'done', lease_owner = null, lease_until = null, source_location = ${source}, last_error = null,
      updated_at = ${now}, finished_at = ${now} where ${heldBy(job)} returning id),
    b as (insert into blobs (digest, size, created_at) select ${job.digest}, ${size}, ${now} where ${blobKnown ? 0 : 1} = 1 on conflict do nothing returning digest)
    insert into changes (kind, repository, payload, at)
    select 'placement.present', null, ${payload}, ${now} from p cross join lateral (
      select pg_advisory_xact_lock(${CHANGE_LOG_LOCK}), pg_notify(${CHANGES_CHANNEL}, '')
      where p.digest is not null and (select count(*) from j) + (select count(*) from b) >= 0) as l`
  for (let attempt = 1; ; attempt++) {
    try {
      await db.$all(statement)
      return
    } catch (err) {
      if (attempt >= 3 || sqlStateOf(err) !== '40P01') throw err
    }
  }
}

/**
 * The job row as long as the worker that claimed it still holds it (fencing after a re-claim).
 * Found through its (digest, location) index; id and state are checked on the row only (`+ 0`,
 * `|| ''` keep the planner off their indexes). On PostgreSQL a SERIALIZABLE statement
 * predicate-locks every index page it reads: through (state, due_at) it read the 'running' range,
 * beside which every push inserts its 'pending' jobs, and through the id it read the page where
 * every new job and every other completion's new row version land, so nearly every completion
 * overlapping a push or another completion failed serialization and ran again. Digests spread
 * over the (digest, location) index.
 */
function heldBy(job: Job) {
  return and(eq(replicationJobs.digest, job.digest), eq(replicationJobs.location, job.location),
    sql`${replicationJobs.id} + 0 = ${job.id}`, sql`${replicationJobs.state} || '' = 'running'`,
    job.leaseOwner === null ? sql`lease_owner is null` : eq(replicationJobs.leaseOwner, job.leaseOwner))
}

export interface FailOptions {
  error: string
  maxAttempts: number
  backoffBaseMs: number
  backoffMaxMs: number
  /** Retrying cannot help (blob deleted, location removed): dead-letter now. */
  permanent?: boolean
  now?: number
  random?: () => number
}

/** Exponential backoff with full jitter on the upper half: base·2^(n-1)·(0.5..1), capped. */
export function backoffMs(attempts: number, base: number, max: number, random = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempts - 1))
  return Math.round(ceiling * (0.5 + random() / 2))
}

/**
 * Records a failed attempt: back to 'pending' after a backoff, or 'dead' after maxAttempts.
 * 'lost' when another worker holds the job now (this one's lease expired): nothing is written.
 */
export async function failJob(db: Db, job: Job, o: FailOptions): Promise<'retry' | 'dead' | 'lost'> {
  const now = o.now ?? Date.now()
  const attempts = job.attempts + 1
  const dead = o.permanent || attempts >= o.maxAttempts
  const r = await db.update(replicationJobs).set({
    state: dead ? 'dead' : 'pending', attempts, lastError: o.error.slice(0, 2000), leaseOwner: null, leaseUntil: null,
    dueAt: dead ? now : now + backoffMs(attempts, o.backoffBaseMs, o.backoffMaxMs, o.random), updatedAt: now,
    finishedAt: dead ? now : null,
  }).where(heldBy(job)).run()
  if (r.changes === 0) return 'lost'
  return dead ? 'dead' : 'retry'
}

export async function deleteJob(db: Db, job: Job): Promise<void> {
  await db.delete(replicationJobs).where(heldBy(job)).run()
}

/** Puts dead-lettered jobs back in the queue (all, or the given ids). Returns how many. */
export async function retryDeadJobs(db: Db, ids: number[] | null, now = Date.now()): Promise<number> {
  const where = ids ? and(eq(replicationJobs.state, 'dead'), inArray(replicationJobs.id, ids)) : eq(replicationJobs.state, 'dead')
  return (await db.update(replicationJobs).set({ state: 'pending', attempts: 0, dueAt: now, lastError: null, finishedAt: null, updatedAt: now })
    .where(where).run()).changes
}

export async function jobsInState(db: Db, state: Job['state'], limit = 100): Promise<Job[]> {
  return db.select().from(replicationJobs).where(eq(replicationJobs.state, state)).orderBy(desc(replicationJobs.updatedAt)).limit(limit).all()
}

export async function jobsOf(tx: Tx, digest: string): Promise<Job[]> {
  return tx.select().from(replicationJobs).where(eq(replicationJobs.digest, digest)).all()
}

export interface Backlog { location: string; pending: number; running: number; dead: number; pendingBytes: number }

/** Work not yet done, per target location. */
export async function backlogByLocation(db: Db): Promise<Backlog[]> {
  const rows = await db.select({
    location: replicationJobs.location, state: replicationJobs.state,
    count: sql<number>`count(*)`, bytes: sql<number>`coalesce(sum(${blobs.size}), 0)`,
  }).from(replicationJobs).leftJoin(blobs, eq(blobs.digest, replicationJobs.digest))
    .where(inArray(replicationJobs.state, ['pending', 'running', 'dead']))
    .groupBy(replicationJobs.location, replicationJobs.state).all()
  const out = new Map<string, Backlog>()
  for (const r of rows) {
    const b = out.get(r.location) ?? { location: r.location, pending: 0, running: 0, dead: 0, pendingBytes: 0 }
    b[r.state as 'pending' | 'running' | 'dead'] += Number(r.count)
    if (r.state !== 'dead') b.pendingBytes += Number(r.bytes)
    out.set(r.location, b)
  }
  return [...out.values()].sort((a, b) => a.location.localeCompare(b.location))
}

/** Commit-to-present lag of recently finished jobs, in ms, newest first. */
export async function recentLags(db: Db, limit = 1000): Promise<number[]> {
  return (await db.select({ created: replicationJobs.createdAt, finished: replicationJobs.finishedAt }).from(replicationJobs)
    .where(and(eq(replicationJobs.state, 'done'), isNotNull(replicationJobs.finishedAt)))
    .orderBy(desc(replicationJobs.finishedAt)).limit(limit).all()).map((r) => r.finished! - r.created)
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}
