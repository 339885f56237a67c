// Placements ("blob D is present and verified in location L") and the replication jobs that
// create them. Both are written in the caller's transaction.

import { and, eq, inArray, sql } from 'drizzle-orm'
import type { Tx } from './changes.ts'
import { appendChange } from './changes.ts'
import { namespaceOf } from '../../oci/names.ts'
import { joinLines } from '../dialect-sql.ts'
import { JOBS_CHANNEL, notifyOnCommit } from '../notify.ts'
import { blobs, placements, replicationJobs } from '../schema.ts'

export interface PresentBlob {
  digest: string
  size: number
  location: string
  now?: number
}

/**
 * Records that verified bytes of `digest` are in `location`: the blob row (first time), the
 * placement 'present', and a change-log entry. Call only after the bytes are stored (§4.1).
 */
export async function recordPlacement(tx: Tx, p: PresentBlob): Promise<void> {
  const now = p.now ?? Date.now()
  await tx.insert(blobs).values({ digest: p.digest, size: p.size, createdAt: now }).onConflictDoNothing().run()
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

/** What a copy needs to know of a blob, in one read: its size, where it is, who links it. */
export interface CopySubject {
  size: number
  /** Locations where it is present. */
  present: string[]
  /** Namespaces of the repositories it is linked into (their policies decide its targets). */
  namespaces: string[]
}

/** The blob's size, present locations and namespaces; null when the registry no longer knows it. */
export async function copySubject(tx: Tx, digest: string): Promise<CopySubject | null> {
  // One statement rather than three: each round trip to PostgreSQL is on the replication lag.
  const [row] = await tx.$all<{ size: number; present: string | null; repos: string | null }>(sql`
    select b.size,
      (select ${joinLines(tx, sql`p.location`)} from placements p where p.digest = b.digest and p.state = 'present') as present,
      (select ${joinLines(tx, sql`r.name`)} from repository_blobs rb join repositories r on r.id = rb.repository_id where rb.digest = b.digest) as repos
    from blobs b where b.digest = ${digest}`)
  if (!row) return null
  const split = (s: string | null) => (s ? s.split('\n') : [])
  return { size: Number(row.size), present: split(row.present), namespaces: [...new Set(split(row.repos).map(namespaceOf))] }
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
  let created = 0
  for (const location of targets) {
    if (have.has(location)) continue
    const r = await tx.insert(replicationJobs).values({ digest, location, state: 'pending', attempts: 0, dueAt: now, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: [replicationJobs.digest, replicationJobs.location],
        set: { state: 'pending', attempts: 0, dueAt: now, lastError: null, updatedAt: now, finishedAt: null },
        // A dead letter waits for an operator (admin API retry) unless the caller says otherwise.
        setWhere: inArray(replicationJobs.state, options.reviveDead === false ? ['done'] : ['done', 'dead']),
      }).run()
    created += r.changes
  }
  if (created > 0) await notifyOnCommit(tx, JOBS_CHANNEL)
  return created
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
  const targets = targetsFor(await namespacesOf(tx, digest))
  const stale = (await tx.select({ id: replicationJobs.id, location: replicationJobs.location }).from(replicationJobs)
    .where(and(eq(replicationJobs.digest, digest), inArray(replicationJobs.state, ['pending', 'dead']))).all())
    .filter((j) => !targets.includes(j.location)).map((j) => j.id)
  if (stale.length > 0) await tx.delete(replicationJobs).where(inArray(replicationJobs.id, stale)).run()
  return enqueueReplication(tx, digest, targets, now)
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

