// What the orphaned blob sweep (origin/uploads/sweep-orphan-blobs.ts) asks before it deletes bytes
// under a blob's content key: does any placement row name them, and how old is the oldest upload
// session that could still be moving a part of its own into that key.

import { and, eq, inArray, sql } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { placements, uploads } from '../schema.ts'

/**
 * The digests among `digests` that a placement row in `location` names, in any state (present,
 * missing: `npm run verify --repair` owns those). One statement per page of listed keys.
 */
export async function placedDigests(db: Db, location: string, digests: string[]): Promise<Set<string>> {
  if (digests.length === 0) return new Set()
  const rows = await db.select({ digest: placements.digest }).from(placements)
    .where(and(eq(placements.location, location), inArray(placements.digest, digests))).all()
  return new Set(rows.map((r) => r.digest))
}

/** Creation time (ms) of the oldest upload session in `location`, or null when it has none. */
export async function oldestUploadIn(db: Db, location: string): Promise<number | null> {
  const row = await db.select({ oldest: sql<number | string | null>`min(${uploads.createdAt})` }).from(uploads)
    .where(eq(uploads.location, location)).get()
  return row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest)
}

export interface OrphanClaims {
  /** A placement row names (digest, location), in any state. */
  placed: boolean
  /** Creation time of the oldest upload session in the location, or null. */
  oldestUpload: number | null
}

/**
 * Both answers in one statement, so from one snapshot: a push finishing an upload session deletes
 * the session row and inserts the placement in one transaction, so a single read sees either the
 * row or the placement, never neither (two statements could fall on both sides of that commit).
 */
export async function orphanClaims(db: Db, digest: string, location: string): Promise<OrphanClaims> {
  const [row] = await db.$all<{ placed: number | string; oldest: number | string | null }>(sql`
    select (select count(*) from placements p where p.digest = ${digest} and p.location = ${location}) as placed,
      (select min(u.created_at) from uploads u where u.location = ${location}) as oldest`)
  return {
    placed: Number(row?.placed ?? 0) > 0,
    oldestUpload: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest),
  }
}
