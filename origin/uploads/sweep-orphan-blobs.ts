// Orphaned blob bytes: keys under blobs/ of blobs the registry does not know at all (no blob row, no
// placement in any location: db/queries/orphans.ts says why not per location). Bytes are stored
// before the database records them (ARCHITECTURE §4.1); when that commit never comes (the client
// went away, the database failed, a whole-blob PUT lost its race with a PATCH on another origin),
// the bytes stay under their key with nothing pointing at them (a replication copy whose
// completion failed is of a known blob: its job copies again, and its bytes are kept). `npm run gc`, the origin's hourly pass and its start-up pass remove them here.
//
// This is not blob garbage collection: bytes a placement names stay, whatever their state and
// whether or not any manifest or repository still uses the blob (that needs a mark phase).

import type { Db } from '../../db/client.ts'
import { knownDigests, oldestUploadIn, orphanClaims } from '../../db/queries/orphans.ts'
import { markPlacementMissing, placementsOf } from '../../db/queries/placements.ts'
import type { ObjectInfo } from '../../storage/engine.ts'
import { digestOfBlobKey } from '../../storage/keys.ts'
import type { Location, LocationSet } from '../locations.ts'
import { describeError, type Logger } from '../log.ts'

/**
 * Bytes whose key changed more recently than this may still be waiting for their commit. The
 * grace must outlast the longest gap between the time an engine reports for a key and the commit
 * of its placement:
 * - a push: the commit follows the write at once (a transaction, retried in seconds on PostgreSQL
 *   serialization failures); but a key's time is not always the end of the write: an S3 object
 *   completed from a multipart upload may report when that upload began, so a monolithic
 *   POST ?digest= from a slow client shows its first byte, hours before its commit for a large
 *   layer (a session's closing PUT is held back by its session row: cutoffFor);
 * - a replication copy: the copy is read back and verified (or streamed, at the source's pace)
 *   before its completion is recorded, minutes for the largest layers;
 * - an upload session finished from one part: on fs the part is hard-linked to the blob key and
 *   the key keeps the part's mtime, as old as the session (up to `--older-than`, 24 h, and longer
 *   when no cleanup runs). No grace covers that: see cutoffFor, which counts from the oldest live
 *   session of the location instead.
 * A day covers the first two with a wide margin, which is also why `npm run gc` takes its own
 * `--blob-grace` rather than `--older-than`: `--older-than=0` is a fair way to clear stale sessions
 * now, while a zero grace here would delete bytes whose commit is in flight, leaving a placement
 * `present` for bytes that are gone.
 */
export const ORPHAN_BLOB_GRACE_MS = 24 * 3_600_000
/** The shortest grace `npm run gc` accepts: past a copy's read-back, a commit's retries, clocks. */
export const MIN_ORPHAN_BLOB_GRACE_MS = 3_600_000

const BLOB_PREFIX = 'blobs/'
const DELETE_CONCURRENCY = 8

/**
 * A page whose old keys are mostly unknown to the database says the database is not this
 * storage's (an empty or wrong DATABASE_URL, a restore from an older backup, an interrupted
 * `npm run db:copy`, another deployment's bucket), not that commits failed: the location is
 * refused, nothing of it deleted, unless the operator says otherwise (`--allow-mass-orphans`).
 * Keys list in digest order, effectively random, so any page is a fair sample. Buckets carry no
 * root marker to catch this; disks do, and are refused before this.
 */
export const MASS_ORPHANS = { atLeast: 50, share: 0.1 }

export interface OrphanBlobDeps {
  db: Db
  locations: Pick<LocationSet, 'all'>
  log: Logger
}

export interface OrphanBlobOptions {
  /** Keys unchanged for longer than this (and older than every live session there) may go. */
  graceMs: number
  /** Count and report, remove nothing. */
  dryRun?: boolean
  /** Also remove orphans whose engine reports no modification time (their age is unknown). */
  force?: boolean
  /** Sweep a location even when most of its old blobs are unknown (see MASS_ORPHANS). */
  allowMassOrphans?: boolean
  /** Stops the pass between pages and between batches of deletes (an origin shutting down). */
  signal?: AbortSignal
  /** The clock (tests pass a time far in the future). */
  now?: number
  /** Once per removed (or, in a dry run, removable) blob. */
  onItem?: (item: OrphanBlobItem) => void
  /** Once per location where something was (or would be) removed. */
  onLocation?: (tally: OrphanBlobTally) => void
  /** Once per location that could not be listed (down, refused root): skipped this pass. */
  onDown?: (location: string, error: string) => void
}

export interface OrphanBlobItem { location: string; digest: string; bytes: number }
export interface OrphanBlobTally { location: string; blobs: number; bytes: number }

export interface OrphanBlobResult {
  blobs: number
  bytes: number
  /** Keys left alone: not a blob key Meridian writes, or no modification time (without force). */
  skipped: number
  /** Storage operations that failed (a location down counts once); the next pass retries. */
  errors: number
  /** Locations that could not be listed. */
  down: string[]
}

/** Sweeps every writable location's blobs/, one location after the other. */
export async function sweepOrphanBlobs(deps: OrphanBlobDeps, options: OrphanBlobOptions): Promise<OrphanBlobResult> {
  const now = options.now ?? Date.now()
  const result: OrphanBlobResult = { blobs: 0, bytes: 0, skipped: 0, errors: 0, down: [] }
  for (const location of deps.locations.all()) {
    // A read-only location is someone else's to change (an archive, a mirror): never delete there.
    if (location.config.readOnly) continue
    if (options.signal?.aborted) break
    const tally = await sweepLocation(deps, location, { ...options, now }, result)
    result.blobs += tally.blobs
    result.bytes += tally.bytes
    if (tally.blobs === 0) continue
    if (!options.dryRun) deps.log.info('removed orphaned blobs', { ...tally })
    options.onLocation?.(tally)
  }
  return result
}

/**
 * The cut-off for one location: keys changed before it may go. Counted from the oldest live upload
 * session there when one exists, not from now: a session finished from a single part moves that
 * part into the blob key (fs: a hard link), and the key then shows the part's time, which is after
 * its session began; until the commit that deletes the session row, the row holds the cut-off
 * below the key's time (so does it for a session's closing PUT written as a multipart object).
 * A session removed as stale while its PUT is between link and commit is the one case left: 24 h
 * untouched, then that commit taking longer than this whole sweep.
 */
export function cutoffFor(oldestUpload: number | null, now: number, graceMs: number): number {
  return Math.min(now, oldestUpload ?? now) - graceMs
}

const isBefore = (info: ObjectInfo, cutoff: number) => info.modified === undefined || info.modified.getTime() < cutoff

type Candidate = { info: ObjectInfo; digest: string }

async function sweepLocation(deps: OrphanBlobDeps, location: Location, options: OrphanBlobOptions & { now: number }, result: OrphanBlobResult): Promise<OrphanBlobTally> {
  const { db, log } = deps
  const { engine, id } = location
  const tally: OrphanBlobTally = { location: id, blobs: 0, bytes: 0 }
  // The location is left for this pass, counted as an error and reported like a down one.
  const skip = (level: 'warn' | 'error', message: string, fields: Record<string, unknown>, reason: string) => {
    result.errors++
    result.down.push(id)
    log[level](message, { location: id, ...fields })
    options.onDown?.(id, reason)
    return tally
  }
  let cursor: string | null = null
  do {
    let page
    try {
      page = await engine.list(BLOB_PREFIX, { cursor: cursor ?? undefined })
    } catch (err) {
      // Down, or a root refused (a foreign volume must never lose "orphans" that are its blobs).
      return skip('warn', 'orphaned blob sweep: cannot list the location, skipped', { error: describeError(err) }, describeError(err))
    }
    cursor = page.cursor
    const listed: Candidate[] = []
    for (const info of page.keys) {
      const digest = digestOfBlobKey(info.key)
      // Meridian writes nothing else under blobs/ (storage/keys.ts): leave what we did not write.
      if (digest === null || (info.modified === undefined && !options.force)) { result.skipped++; continue }
      listed.push({ info, digest })
    }
    if (listed.length === 0) continue
    // Sessions first, then placements: a commit between the two reads shows up in the second.
    const cutoff = cutoffFor(await oldestUploadIn(db, id), options.now, options.graceMs)
    const old = listed.filter((c) => isBefore(c.info, cutoff))
    const known = await knownDigests(db, old.map((c) => c.digest))
    const orphans = old.filter((c) => !known.has(c.digest))
    if (!options.allowMassOrphans && orphans.length >= MASS_ORPHANS.atLeast && orphans.length > MASS_ORPHANS.share * old.length) {
      return skip('error', 'orphaned blob sweep: refused a location', { unknown: orphans.length, old: old.length },
        `${orphans.length} of ${old.length} old blobs in one page are unknown to the database: is it this storage's database (DATABASE_URL, a restore, an unfinished db:copy, a shared bucket)? Nothing deleted here; --allow-mass-orphans sweeps anyway`)
    }
    for (let i = 0; i < orphans.length; i += DELETE_CONCURRENCY) {
      if (options.signal?.aborted) return tally
      const outcomes = await Promise.all(orphans.slice(i, i + DELETE_CONCURRENCY).map((c) => collect(deps, location, c, options)))
      outcomes.forEach((outcome, j) => {
        if (outcome === 'failed') result.errors++
        if (outcome !== 'removed') return
        const { digest, info } = orphans[i + j]!
        tally.blobs++
        tally.bytes += info.size
        options.onItem?.({ location: id, digest, bytes: info.size })
      })
    }
    // Deleting keys at or before the cursor does not move it: the next page starts after it.
  } while (cursor !== null && !options.signal?.aborted)
  return tally
}

/**
 * Re-checks one orphan right before deleting it: the page's reads may be seconds old, and a commit
 * or a new session may have come since. Between this re-check and the delete a narrow race stays
 * open, and the grace period is what makes it harmless: a commit naming these bytes would have to
 * be in flight now, for bytes last changed before the cut-off, and none is (see
 * ORPHAN_BLOB_GRACE_MS and cutoffFor). What is left is a new push of the same digest rewriting the
 * key between the stat below and the delete (a fresh key is never deleted: the stat sees its new
 * time): a window of one storage call, after which its placement is marked missing.
 */
async function collect(deps: OrphanBlobDeps, location: Location, candidate: Candidate, options: OrphanBlobOptions & { now: number }): Promise<'removed' | 'kept' | 'failed'> {
  if (options.dryRun) return 'removed'
  const { info, digest } = candidate
  const claims = await orphanClaims(deps.db, digest, location.id)
  const cutoff = cutoffFor(claims.oldestUpload, options.now, options.graceMs)
  if (claims.known || !isBefore(info, cutoff)) return 'kept'
  try {
    const current = await location.engine.stat(info.key)
    // Gone already, or rewritten since it was listed (a push of the same digest): not ours now.
    if (current === null || !isBefore(current, cutoff)) return 'kept'
    await location.engine.delete(info.key)
    // A push of the same digest that renamed fresh bytes over the key between the stat and the
    // delete has lost them: say so, loudly, and have the placement repaired from another copy.
    if ((await placementsOf(deps.db, digest)).some((p) => p.location === location.id && p.state === 'present')) {
      deps.log.error('orphaned blob sweep deleted bytes a push committed meanwhile; placement marked missing', { location: location.id, digest })
      await markPlacementMissing(deps.db, digest, location.id)
    }
    return 'removed'
  } catch (err) {
    deps.log.warn('orphaned blob sweep: delete failed', { location: location.id, digest, error: describeError(err) })
    return 'failed'
  }
}
