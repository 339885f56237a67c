// Placements ("blob D is present and verified in location L") and the replication jobs that
// create them. Both are written in the caller's transaction.

import { and, eq, inArray, sql } from 'drizzle-orm'
import type { Tx } from './changes.ts'
import { appendChange } from './changes.ts'
import { namespaceOf } from '../../oci/names.ts'
import { joinLines, joinLinesText } from '../dialect-sql.ts'
import { JOBS_CHANNEL, notifyOnCommit } from '../notify.ts'
import { blobs, placements, replicationJobs } from '../schema.ts'

export interface PresentBlob {
  digest: string
  size: number
  location: string
  now?: number
  /** The blob row exists already (blob rows are never deleted): its insert is skipped. */
  blobKnown?: boolean
}

/**
 * Records that verified bytes of `digest` are in `location`: the blob row (first time), the
 * placement 'present', and a change-log entry. Call only after the bytes are stored (§4.1).
 */
export async function recordPlacement(tx: Tx, p: PresentBlob): Promise<void> {
  const now = p.now ?? Date.now()
  if (!p.blobKnown) await tx.insert(blobs).values({ digest: p.digest, size: p.size, createdAt: now }).onConflictDoNothing().run()
  // One write, no read before it: the upsert answers a row only when it inserted the placement or
  // turned it present. A read first (was it present?) put a predicate lock on the placements index
  // page in every copy's completion on PostgreSQL, and any push or other completion writing into
  // that page made one of them fail serialization and run again (most of them, on small tables).
  const turned = await tx.insert(placements).values({ digest: p.digest, location: p.location, state: 'present', size: p.size, verifiedAt: now })
    .onConflictDoUpdate({ target: [placements.digest, placements.location], set: { state: 'present', size: p.size, verifiedAt: now }, setWhere: sql`${placements.state} <> 'present'` })
    .returning({ digest: placements.digest }).all()
  // Edges need to hear of a new placement only (a re-push of the same layer changes nothing).
  if (turned.length > 0) await appendChange(tx, 'placement.present', null, { digest: p.digest, location: p.location, size: p.size }, now)
  else await tx.update(placements).set({ size: p.size, verifiedAt: now }).where(and(eq(placements.digest, p.digest), eq(placements.location, p.location))).run()
}

/** What replication needs to know of a blob, read in one statement. */
export interface ReplicationView {
  /** null when the registry no longer knows the blob. */
  size: number | null
  /** Locations where it is present. */
  present: string[]
  /** Namespaces of the repositories it is linked into (their policies decide its targets). */
  namespaces: string[]
  /** Its jobs waiting to run (pending) or for an operator (dead). */
  queued: Array<{ id: number; location: string }>
}

/**
 * One statement where three reads were: on PostgreSQL every round trip of a push's transaction
 * and of a copy is on the replication lag.
 */
export async function replicationView(tx: Tx, digest: string): Promise<ReplicationView> {
  const { rows } = await tx.$execute(`select ${replicationViewColumns(tx, '?')}`, [digest, digest, digest, digest], 'objects')
  return replicationViewOf((rows as Record<string, unknown>[])[0] ?? {})
}

/**
 * The view's columns (v_size, v_present, v_repos, v_queued) as raw SQL for the blob whose digest
 * is `digest`: `?` (a parameter, once per column), or a column of the statement they are part of
 * (a job claim returns its jobs' views: db/queries/replication.ts). A claim passes
 * `withQueued: false`: read in the claim's own snapshot, v_queued would list the job just claimed
 * as pending, and a caller that cancelled "queued" jobs from it would cancel its own.
 */
export function replicationViewColumns(tx: Tx, digest: string, withQueued = true): string {
  const join = (expr: string) => joinLinesText(tx, expr)
  return `(select b.size from blobs b where b.digest = ${digest}) as v_size,
      (select ${join('p.location')} from placements p where p.digest = ${digest} and p.state = 'present') as v_present,
      (select ${join('r.name')} from repository_blobs rb join repositories r on r.id = rb.repository_id where rb.digest = ${digest}) as v_repos,
      ${withQueued ? `(select ${join(`j.id || ' ' || j.location`)} from replication_jobs j where j.digest = ${digest} and j.state in ('pending', 'dead'))` : 'null'} as v_queued`
}

/** A row holding replicationViewColumns, as the view. */
export function replicationViewOf(row: Record<string, unknown>): ReplicationView {
  const split = (s: unknown) => (typeof s === 'string' && s !== '' ? s.split('\n') : [])
  return {
    size: row.v_size === null || row.v_size === undefined ? null : Number(row.v_size),
    present: split(row.v_present),
    namespaces: [...new Set(split(row.v_repos).map(namespaceOf))],
    queued: split(row.v_queued).map((q) => ({ id: Number(q.slice(0, q.indexOf(' '))), location: q.slice(q.indexOf(' ') + 1) })),
  }
}

/** Locations where the blob is present, in no particular order. */
export async function presentLocations(tx: Tx, digest: string): Promise<string[]> {
  return (await tx.select({ location: placements.location }).from(placements)
    .where(and(eq(placements.digest, digest), eq(placements.state, 'present'))).all()).map((r) => r.location)
}

export async function placementsOf(tx: Tx, digest: string) {
  return tx.select().from(placements).where(eq(placements.digest, digest)).all()
}

/** Marks a placement missing (verify found the bytes gone or corrupt). */
export async function markPlacementMissing(tx: Tx, digest: string, location: string, now = Date.now()): Promise<void> {
  await tx.update(placements).set({ state: 'missing', verifiedAt: now })
    .where(and(eq(placements.digest, digest), eq(placements.location, location))).run()
  await appendChange(tx, 'placement.removed', null, { digest, location }, now)
}

/**
 * Creates one replication job per target that does not hold the blob yet. Unique per
 * (digest, location): pushing the same layer from 50 clients makes one job. A finished or
 * dead-lettered job for a location that lost the blob is revived.
 */
export async function enqueueReplication(tx: Tx, digest: string, targets: string[], now = Date.now(), options: { reviveDead?: boolean } = {}): Promise<number> {
  if (targets.length === 0) return 0
  const have = new Set(await presentLocations(tx, digest))
  return insertJobs(tx, digest, targets.filter((l) => !have.has(l)), now, options)
}

/** The jobs for `locations` in one statement (inserted, or revived when done or dead). */
async function insertJobs(tx: Tx, digest: string, locations: string[], now: number, options: { reviveDead?: boolean }): Promise<number> {
  const unique = [...new Set(locations)]
  if (unique.length === 0) return 0
  const r = await tx.insert(replicationJobs).values(unique.map((location) => ({ digest, location, state: 'pending' as const, attempts: 0, dueAt: now, createdAt: now, updatedAt: now })))
    .onConflictDoUpdate({
      target: [replicationJobs.digest, replicationJobs.location],
      set: { state: 'pending', attempts: 0, dueAt: now, lastError: null, updatedAt: now, finishedAt: null },
      // A dead letter waits for an operator (admin API retry) unless the caller says otherwise.
      setWhere: inArray(replicationJobs.state, options.reviveDead === false ? ['done'] : ['done', 'dead']),
    }).run()
  if (r.changes > 0) await notifyOnCommit(tx, JOBS_CHANNEL)
  return r.changes
}

/** Target locations for a blob linked into repositories of these namespaces (policy applied). */
export type TargetsFor = (namespaces: string[]) => string[]

/** Namespaces (first name segment) of every repository the blob is linked into. */
export async function namespacesOf(tx: Tx, digest: string): Promise<string[]> {
  const rows = await tx.$all<{ name: string }>(sql`select r.name from repository_blobs rb join repositories r on r.id = rb.repository_id where rb.digest = ${digest}`)
  return [...new Set(rows.map((r) => namespaceOf(r.name)))]
}

/**
 * Brings a blob's replication in line with the union of its namespaces' policies: one job per
 * missing target, and queued (not running) jobs the union no longer allows are dropped, so a
 * blob shared with a residency-limited namespace is not copied outside that limit.
 */
export async function scheduleReplication(tx: Tx, digest: string, targetsFor: TargetsFor, now = Date.now()): Promise<number> {
  const view = await replicationView(tx, digest)
  const targets = targetsFor(view.namespaces)
  const stale = view.queued.filter((j) => !targets.includes(j.location)).map((j) => j.id)
  if (stale.length > 0) await tx.delete(replicationJobs).where(inArray(replicationJobs.id, stale)).run()
  return insertJobs(tx, digest, targets.filter((l) => !view.present.includes(l)), now, {})
}

export interface BlobOwners {
  digest: string
  size: number
  /** Repositories the blob is linked into (its namespaces decide its policy). */
  repositories: string[]
  present: string[]
  /** Target locations with a job still pending, running or dead. */
  queued: string[]
}

/** A page of blobs in digest order after `after`, with what decides and what shows their placement. */
export async function blobsPage(tx: Tx, options: { after?: string | null; limit: number }): Promise<BlobOwners[]> {
  const rows = await tx.$all<{ digest: string; size: number; repos: string | null; present: string | null; queued: string | null }>(sql`
    select b.digest, b.size,
      (select ${joinLines(tx, sql`r.name`)} from repository_blobs rb join repositories r on r.id = rb.repository_id where rb.digest = b.digest) as repos,
      (select ${joinLines(tx, sql`p.location`)} from placements p where p.digest = b.digest and p.state = 'present') as present,
      (select ${joinLines(tx, sql`j.location`)} from replication_jobs j where j.digest = b.digest and j.state in ('pending', 'running', 'dead')) as queued
    from blobs b where b.digest > ${options.after ?? ''} order by b.digest limit ${options.limit}`)
  const split = (s: string | null) => (s ? s.split('\n') : [])
  return rows.map((r) => ({ digest: r.digest, size: r.size, repositories: split(r.repos), present: split(r.present), queued: split(r.queued) }))
}

