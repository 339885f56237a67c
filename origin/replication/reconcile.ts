// The reconciler: finds blobs whose placements fall short of policy (a location added or made
// default, a policy changed, a copy found missing) and enqueues replication for them, a page at
// a time so a large registry is caught up gradually. `npm run backfill` runs the same pass.

import type { Db } from '../../db/client.ts'
import { blobsPage, enqueueReplication, type TargetsFor } from '../../db/queries/placements.ts'
import { namespaceOf } from '../../oci/names.ts'
import type { Lease } from '../lease.ts'

export interface ReconcileOptions {
  /** Resume after this digest (exclusive). */
  after?: string | null
  limit?: number
  /** Only blobs linked into a repository of this namespace. */
  namespace?: string | null
  dryRun?: boolean
}

export interface ReconcileResult {
  scanned: number
  /** Blobs that needed at least one copy. */
  blobs: number
  /** Jobs created (or that would be, in a dry run). */
  jobs: number
  /** Bytes those jobs will copy. */
  bytes: number
  /** The last digest scanned; null when the pass is complete. */
  cursor: string | null
}

export type { TargetsFor }

export async function reconcilePage(db: Db, targetsFor: TargetsFor, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  const limit = options.limit ?? 500
  const page = await blobsPage(db, { after: options.after, limit })
  const result: ReconcileResult = { scanned: page.length, blobs: 0, jobs: 0, bytes: 0, cursor: page.length === limit ? page[page.length - 1].digest : null }
  const now = Date.now()
  for (const blob of page) {
    // A blob in no repository is garbage waiting for gc: nothing to place.
    if (blob.repositories.length === 0) continue
    const namespaces = [...new Set(blob.repositories.map(namespaceOf))]
    if (options.namespace && !namespaces.includes(options.namespace)) continue
    const missing = targetsFor(namespaces).filter((l) => !blob.present.includes(l) && !blob.queued.includes(l))
    if (missing.length === 0 || blob.present.length === 0) continue
    const created = options.dryRun ? missing.length : await db.transaction((tx) => enqueueReplication(tx, blob.digest, missing, now, { reviveDead: false }))
    if (created === 0) continue
    result.blobs++
    result.jobs += created
    result.bytes += blob.size * created
  }
  return result
}

/**
 * Runs reconcilePage on a timer, a page per tick. Between complete passes it rests `intervalMs`;
 * within a pass the next page follows after `pageGapMs`, so a location added to a registry of a
 * million blobs is caught up in about half an hour of paging (plus copying), not a day and a half.
 * One page at a time; stop() waits for a running one (the database is closed after it).
 */
/**
 * With `lease`, a pass runs only while this process holds it (one reconciler per deployment, on
 * whichever origin or worker holds it); the others check again every `intervalMs`.
 */
export function startReconciler(db: Db, targetsFor: TargetsFor, options: { intervalMs: number; pageGapMs?: number; pageSize?: number; lease?: Lease; onResult?: (r: ReconcileResult) => void; onError?: (err: unknown) => void }): { stop(): Promise<void> } {
  const { intervalMs, pageGapMs = 1000, pageSize = 500 } = options
  let cursor: string | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  let running: Promise<void> | null = null
  let stopped = false
  const schedule = (ms: number) => {
    if (stopped) return
    timer = setTimeout(() => { running = tick().finally(() => { running = null }) }, ms)
    timer.unref?.()
  }
  // Never rejects: a failed page is reported and the next tick retries from the same cursor.
  async function tick(): Promise<void> {
    if (options.lease && !(await options.lease.hold())) {
      cursor = null
      return schedule(intervalMs)
    }
    try {
      const r = await reconcilePage(db, targetsFor, { after: cursor, limit: pageSize })
      cursor = r.cursor
      options.onResult?.(r)
    } catch (err) {
      try { options.onError?.(err) } catch { /* a failing reporter must not stop the reconciler */ }
    }
    schedule(cursor === null ? intervalMs : pageGapMs)
  }
  // The first pass starts at once: a restart with a new location begins catching up now.
  schedule(pageGapMs)
  return {
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
      await options.lease?.release()
    },
  }
}
