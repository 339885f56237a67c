// What the orphaned blob sweep (origin/uploads/sweep-orphan-blobs.ts) asks before it deletes bytes
// under a blob's content key: does the registry know the blob at all (a `blobs` row: every
// placement, in any location and state, comes with one), and how old is the oldest upload session that could
// still be moving a part of its own into that key.
//
// Known anywhere, kept everywhere: bytes of a known blob in a location no placement names are
// rare (a copy whose completion failed, and its job copies again) and cheap to keep, while judging
// each location by its own placements alone would delete every blob of a location whose id was
// renamed, or of one of two location ids over one bucket and prefix.

import { eq, inArray, sql } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { blobs, uploads } from '../schema.ts'

/**
 * The digests among `digests` the registry knows: those with a blob row (every placement is
 * recorded with its blob row, and blob rows are never deleted). One statement per page of keys.
 */
export async function knownDigests(db: Db, digests: string[]): Promise<Set<string>> {
  if (digests.length === 0) return new Set()
  const rows = await db.select({ digest: blobs.digest }).from(blobs).where(inArray(blobs.digest, digests)).all()
  return new Set(rows.map((r) => r.digest))
}

/** Creation time (ms) of the oldest upload session in `location`, or null when it has none. */
export async function oldestUploadIn(db: Db, location: string): Promise<number | null> {
  const row = await db.select({ oldest: sql<number | string | null>`min(${uploads.createdAt})` }).from(uploads)
    .where(eq(uploads.location, location)).get()
  return msOrNull(row?.oldest)
}

/** A time aggregate as the drivers answer it (PostgreSQL bigint as text), or null for none. */
const msOrNull = (v: number | string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v))

export interface OrphanClaims {
  /** The registry knows the blob: it has a blob row. */
  known: boolean
  /** Creation time of the oldest upload session in the location, or null. */
  oldestUpload: number | null
}

/**
 * Both answers in one statement, so from one snapshot: a push finishing an upload session deletes
 * the session row and inserts the placement in one transaction, so a single read sees either the
 * row or the placement, never neither (two statements could fall on both sides of that commit).
 */
export async function orphanClaims(db: Db, digest: string, location: string): Promise<OrphanClaims> {
  const [row] = await db.$all<{ known: number | string; oldest: number | string | null }>(sql`
    select (select count(*) from blobs b where b.digest = ${digest}) as known,
      (select min(u.created_at) from uploads u where u.location = ${location}) as oldest`)
  return {
    known: Number(row?.known ?? 0) > 0,
    oldestUpload: msOrNull(row?.oldest),
  }
}
