// Placements ("blob D is present and verified in location L") and the replication jobs that
// create them. Both are written in the caller's transaction.

import { and, eq, inArray, sql } from 'drizzle-orm'
import type { Tx } from './changes.ts'
import { appendChange } from './changes.ts'
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
export function recordPlacement(tx: Tx, p: PresentBlob): void {
  const now = p.now ?? Date.now()
  tx.insert(blobs).values({ digest: p.digest, size: p.size, createdAt: now }).onConflictDoNothing().run()
  tx.insert(placements).values({ digest: p.digest, location: p.location, state: 'present', size: p.size, verifiedAt: now })
    .onConflictDoUpdate({ target: [placements.digest, placements.location], set: { state: 'present', size: p.size, verifiedAt: now } }).run()
  appendChange(tx, 'placement.present', null, { digest: p.digest, location: p.location, size: p.size }, now)
}

/** Locations where the blob is present, in no particular order. */
export function presentLocations(tx: Tx, digest: string): string[] {
  return tx.select({ location: placements.location }).from(placements)
    .where(and(eq(placements.digest, digest), eq(placements.state, 'present'))).all().map((r) => r.location)
}

export function placementsOf(tx: Tx, digest: string) {
  return tx.select().from(placements).where(eq(placements.digest, digest)).all()
}

/** Marks a placement missing (verify found the bytes gone or corrupt). */
export function markPlacementMissing(tx: Tx, digest: string, location: string, now = Date.now()): void {
  tx.update(placements).set({ state: 'missing', verifiedAt: now })
    .where(and(eq(placements.digest, digest), eq(placements.location, location))).run()
  appendChange(tx, 'placement.removed', null, { digest, location }, now)
}

/**
 * Creates one replication job per target that does not hold the blob yet. Unique per
 * (digest, location): pushing the same layer from 50 clients makes one job. A finished or
 * dead-lettered job for a location that lost the blob is revived.
 */
export function enqueueReplication(tx: Tx, digest: string, targets: string[], now = Date.now()): number {
  if (targets.length === 0) return 0
  const have = new Set(presentLocations(tx, digest))
  let created = 0
  for (const location of targets) {
    if (have.has(location)) continue
    const r = tx.insert(replicationJobs).values({ digest, location, state: 'pending', attempts: 0, dueAt: now, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: [replicationJobs.digest, replicationJobs.location],
        set: { state: 'pending', attempts: 0, dueAt: now, lastError: null, updatedAt: now, finishedAt: null },
        setWhere: inArray(replicationJobs.state, ['done', 'dead']),
      }).run()
    created += r.changes
  }
  return created
}

/** Blob digests that have no present placement in `location` (for backfill), in pages. */
export function blobsMissingFrom(tx: Tx, location: string, options: { after?: string; limit: number }) {
  return tx.select({ digest: blobs.digest, size: blobs.size }).from(blobs)
    .where(and(
      options.after ? sql`${blobs.digest} > ${options.after}` : sql`1 = 1`,
      sql`not exists (select 1 from ${placements} p where p.digest = ${blobs.digest} and p.location = ${location} and p.state = 'present')`,
    ))
    .orderBy(blobs.digest).limit(options.limit).all()
}

