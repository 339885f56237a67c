// Abandoned uploads: sessions a client stopped touching, and upload parts no session owns (a crash
// between storing a blob and deleting its parts, a failed best-effort delete). `npm run gc` runs
// one pass; the origin can run it on a timer (startUploadCleanup). Both also sweep the temporary
// files crashed writes left in each location (sweep-temporary.ts), after their own grace period.
//
// Only uploads/ is touched here. The timer also runs the orphaned blob sweep (sweep-orphan-blobs.ts:
// blobs/ keys of blobs the registry does not know); whether a known blob is garbage depends on every
// manifest and repository link, which can change while we look, so that needs a stop-the-world
// mark phase (as distribution's `garbage-collect` does) and is not done.

import type { Db } from '../../db/client.ts'
import { deleteUpload, findUpload, staleUploads } from '../../db/queries/uploads.ts'
import type { ObjectInfo, StorageEngine } from '../../storage/engine.ts'
import { PROBE_KEY, uploadPrefix } from '../../storage/keys.ts'
import type { LocationSet } from '../locations.ts'
import { describeError, type Logger } from '../log.ts'
import { sweepTemporaryFiles, type TempSweepItem } from './sweep-temporary.ts'
import { ORPHAN_BLOB_GRACE_MS, sweepOrphanBlobs } from './sweep-orphan-blobs.ts'
import type { Lease } from '../lease.ts'
import { runPeriodically } from '../periodic.ts'

export interface CleanupDeps {
  db: Db
  locations: Pick<LocationSet, 'get' | 'all'>
  log: Logger
}

export interface CleanupOptions {
  /** Sessions untouched, and orphaned parts unmodified, for longer than this are removed. */
  olderThanMs: number
  /** Count and report, remove nothing. */
  dryRun?: boolean
  /** The clock (tests pass a time far in the future). */
  now?: number
  /** Also remove orphaned parts whose engine reports no modification time (their age is unknown). */
  force?: boolean
  /** Called once per removed (or, in a dry run, removable) session or orphan group. */
  onItem?: (item: CleanupItem) => void
  /**
   * Temporary files untouched for longer than this go (independent of olderThanMs). Must cover the
   * origin's idle timeout: tempGraceFor(config.origin.idleTimeoutMs), as the callers pass it.
   */
  tempGraceMs: number
  /** Called once per location whose temporary files were (or would be) removed. */
  onTemp?: (item: TempSweepItem) => void
}

export interface CleanupItem {
  kind: 'session' | 'orphan'
  location: string
  /** The upload session id. */
  id: string
  parts: number
  bytes: number
}

export interface CleanupResult {
  /** Stale sessions removed (or that would be): their rows and their parts. */
  sessions: number
  sessionParts: number
  sessionBytes: number
  /** Parts under uploads/ that no session owns. */
  orphanParts: number
  orphanBytes: number
  /** Temporary files (fs) or open multipart uploads (s3) that crashed writes left behind. */
  tempItems: number
  tempBytes: number
  /** Keys left alone: no modification time (without force), or not an upload part's key. */
  skipped: number
  /** Storage operations that failed; the next pass retries them. */
  errors: number
}

/** An upload part (storage/keys.ts uploadPartKey); never the probe key, uploads/probe/write. */
export const PART_KEY = /^uploads\/([0-9a-f-]{36})\/\d{8}(?:\.[0-9a-f]+)?$/
const DELETE_CONCURRENCY = 8

export async function collectAbandonedUploads(deps: CleanupDeps, options: CleanupOptions): Promise<CleanupResult> {
  const { olderThanMs, dryRun = false, now = Date.now(), force = false, onItem, tempGraceMs } = options
  const cutoff = now - olderThanMs
  const result: CleanupResult = { sessions: 0, sessionParts: 0, sessionBytes: 0, orphanParts: 0, orphanBytes: 0, tempItems: 0, tempBytes: 0, skipped: 0, errors: 0 }
  await collectStaleSessions(deps, cutoff, dryRun, result, onItem)
  for (const location of deps.locations.all()) {
    await collectOrphans(deps, location.engine, { cutoff, dryRun, force }, result, onItem)
  }
  const temp = await sweepTemporaryFiles(deps, { olderThan: new Date(now - tempGraceMs), dryRun, onItem: options.onTemp })
  result.tempItems = temp.items
  result.tempBytes = temp.bytes
  result.errors += temp.errors
  return result
}

async function collectStaleSessions(deps: CleanupDeps, cutoff: number, dryRun: boolean, result: CleanupResult, onItem: CleanupOptions['onItem']): Promise<void> {
  const { db, locations, log } = deps
  for (const upload of await staleUploads(db, cutoff)) {
    const location = locations.get(upload.location)
    let parts: ObjectInfo[] = []
    if (location) {
      try {
        parts = await listAll(location.engine, uploadPrefix(upload.id))
      } catch (err) {
        // The location is down: keep the row, so the next pass finds the session again.
        result.errors++
        log.warn('upload cleanup: cannot list session parts', { upload: upload.id, location: upload.location, error: describeError(err) })
        continue
      }
    } else {
      // The session cannot continue anyway (sessionLocation answers BLOB_UPLOAD_UNKNOWN); its parts
      // become orphans that a pass collects once the location is configured again.
      log.warn('upload cleanup: session location not configured, removing the row only', { upload: upload.id, location: upload.location })
    }
    if (!dryRun) {
      // Row first, then parts: the DB never points at missing parts (§4.1), and the row goes only
      // if it is still stale, so a PATCH that revived the session meanwhile keeps it. A PATCH that
      // lands after this fails to advance the row and deletes its own part; parts whose delete
      // fails below are orphans, collected by the orphan pass (now, or on the next run).
      const removed = await db.transaction(async (tx) => {
        const current = await findUpload(tx, upload.id)
        return current !== null && current.updatedAt < cutoff && await deleteUpload(tx, upload.id)
      })
      if (!removed) continue
      if (location) result.errors += await deleteKeys(location.engine, parts.map((p) => p.key), log)
    }
    const bytes = sumSizes(parts)
    result.sessions++
    result.sessionParts += parts.length
    result.sessionBytes += bytes
    onItem?.({ kind: 'session', location: upload.location, id: upload.id, parts: parts.length, bytes })
  }
}

async function collectOrphans(deps: CleanupDeps, engine: StorageEngine, options: { cutoff: number; dryRun: boolean; force: boolean }, result: CleanupResult, onItem: CleanupOptions['onItem']): Promise<void> {
  const { db, log } = deps
  let cursor: string | null = null
  do {
    let page
    try {
      page = await engine.list('uploads/', { cursor: cursor ?? undefined })
    } catch (err) {
      result.errors++
      log.warn('upload cleanup: cannot list uploads', { location: engine.location, error: describeError(err) })
      return
    }
    cursor = page.cursor
    const bySession = new Map<string, ObjectInfo[]>()
    for (const info of page.keys) {
      // The write probe's byte (a probe killed midway): not a part, the next probe removes it.
      if (info.key === PROBE_KEY) continue
      const id = PART_KEY.exec(info.key)?.[1]
      // Meridian writes nothing else under uploads/ (storage/keys.ts): leave what we did not write.
      if (id === undefined) { result.skipped++; continue }
      const group = bySession.get(id)
      if (group) group.push(info)
      else bySession.set(id, [info])
    }
    for (const [id, infos] of bySession) {
      // A row means a live session (stale ones were handled above; in a dry run they still have
      // their row, so their parts are not counted twice). A row is created before any part is
      // written, so parts without one belong to a finished, cancelled or removed session.
      const row = await findUpload(db, id)
      if (row !== null && row.location === engine.location) continue
      const old: ObjectInfo[] = []
      for (const info of infos) {
        if (info.modified === undefined) { if (options.force) old.push(info); else result.skipped++ }
        // Young parts may belong to a session finishing right now (row deleted, parts next).
        else if (info.modified.getTime() < options.cutoff) old.push(info)
      }
      if (old.length === 0) continue
      if (!options.dryRun) result.errors += await deleteKeys(engine, old.map((p) => p.key), log)
      const bytes = sumSizes(old)
      result.orphanParts += old.length
      result.orphanBytes += bytes
      onItem?.({ kind: 'orphan', location: engine.location, id, parts: old.length, bytes })
    }
    // Deleting keys at or before the cursor does not move it: the next page starts after it.
  } while (cursor !== null)
}

/** How often the origin sweeps orphaned blobs: a pass lists every key of every location. */
export const ORPHAN_SWEEP_EVERY_MS = 24 * 3_600_000

/**
 * Runs collectAbandonedUploads every `intervalMs`, and the orphaned blob sweep once a day (it
 * lists every key of every location), one pass at a time; stop() waits for a running one (a blob
 * sweep stops at its next page or batch of deletes). At
 * start it sweeps temporary files and orphaned blobs once, in the background (readiness does not
 * wait): a crash leaves them, and a restart is the moment one is likely to have happened.
 * Abandoned sessions and orphaned blobs are collected only while this process holds `lease` (one
 * cleanup per deployment); the sweep of this process's own temporary files always runs.
 */
export function startUploadCleanup(deps: CleanupDeps, options: { intervalMs: number; olderThanMs: number; tempGraceMs: number; blobGraceMs?: number; lease?: Lease; onResult?: (r: CleanupResult) => void; now?: () => number }): { stop(): Promise<void> } {
  const { now = Date.now, tempGraceMs, blobGraceMs = ORPHAN_BLOB_GRACE_MS } = options
  const hold = () => options.lease ? options.lease.hold() : Promise.resolve(true)
  let lastOrphanSweep = -Infinity
  // A blob pass lists every key of every location: stop() aborts it rather than wait minutes.
  const orphanBlobs = (signal: AbortSignal) => {
    lastOrphanSweep = now()
    return sweepOrphanBlobs(deps, { graceMs: blobGraceMs, now: lastOrphanSweep, signal })
      .then((r) => { if (r.blobs + r.errors > 0) deps.log.info('orphaned blob sweep', { ...r }) })
      .catch((err: unknown) => deps.log.error('orphaned blob sweep failed', { error: describeError(err) }))
  }
  const atStart = async (signal: AbortSignal) => {
    await sweepTemporaryFiles(deps, { olderThan: new Date(now() - tempGraceMs) })
      .catch((err: unknown) => deps.log.error('temporary file sweep failed', { error: describeError(err) }))
    if (await hold()) await orphanBlobs(signal)
  }
  const hourly = async (signal: AbortSignal) => {
    if (!(await hold())) return
    const r = await collectAbandonedUploads(deps, { olderThanMs: options.olderThanMs, tempGraceMs, now: now() })
    if (now() - lastOrphanSweep >= ORPHAN_SWEEP_EVERY_MS) await orphanBlobs(signal)
    if (r.sessions + r.orphanParts + r.tempItems + r.errors > 0) deps.log.info('upload cleanup', { ...r })
    options.onResult?.(r)
  }
  const passes = runPeriodically('upload cleanup', deps.log, options.intervalMs, hourly, atStart)
  return {
    async stop() {
      await passes.stop()
      await options.lease?.release()
    },
  }
}

async function listAll(engine: StorageEngine, prefix: string): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = []
  let cursor: string | null = null
  do {
    const page = await engine.list(prefix, { cursor: cursor ?? undefined })
    all.push(...page.keys)
    cursor = page.cursor
  } while (cursor !== null)
  return all
}

/** Deletes keys a few at a time; returns how many failed (logged, retried by the next pass). */
async function deleteKeys(engine: StorageEngine, keys: string[], log: Logger): Promise<number> {
  let failed = 0
  for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
    const batch = keys.slice(i, i + DELETE_CONCURRENCY)
    const settled = await Promise.allSettled(batch.map((key) => engine.delete(key)))
    settled.forEach((s, j) => {
      if (s.status === 'fulfilled') return
      failed++
      log.warn('upload cleanup: delete failed', { location: engine.location, key: batch[j], error: describeError(s.reason) })
    })
  }
  return failed
}

function sumSizes(infos: ObjectInfo[]): number {
  return infos.reduce((n, i) => n + i.size, 0)
}
