// GET FEED_PATH and GET SNAPSHOT_PATH (oci/pull/feed.ts; README "Change feed (edges)"): what edge
// region indexes read from the origin, behind the edge credential.

import { Hono } from 'hono'
import type { Db } from '../../db/client.ts'
import { prepareFeedQueries, type FeedQueries } from '../../db/queries/feed.ts'
import { ociError } from '../../oci/errors.ts'
import { FEED_PATH, SNAPSHOT_PATH, type FeedPage } from '../../oci/pull/feed.ts'
import type { ChangeWaiters } from './change-waiters.ts'
import { requireEdgeCredential, type EdgeCredentialOptions } from './edge-credential.ts'
import { snapshotStream } from './snapshot.ts'
import { readChanges } from './typed-changes.ts'

export const DEFAULT_LIMIT = 500
export const MAX_LIMIT = 5000
export const MAX_WAIT_SECONDS = 30

export interface FeedDeps extends EdgeCredentialOptions {
  db: Db
  /** Shared with whatever appends changes in this process, so a long poll wakes at once. */
  waiters: ChangeWaiters
  /** The prepared queries (default prepareFeedQueries(db)); tests wrap them to time a race. */
  queries?: FeedQueries
}

/** A query number within [min, max], or `fallback` when absent; anything else is a 400. */
function numberParam(value: string | undefined, name: string, rule: { min: number; max: number; integer: boolean; fallback: number }): number {
  if (value === undefined) return rule.fallback
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN
  if (!Number.isFinite(n) || n < rule.min || n > rule.max || (rule.integer && !Number.isInteger(n))) {
    throw ociError('PAGINATION_NUMBER_INVALID', { message: `${name} must be ${rule.integer ? 'an integer' : 'a number'} from ${rule.min} to ${rule.max}`, detail: { [name]: value } })
  }
  return n
}

export function createFeedRoutes(deps: FeedDeps): Hono {
  const app = new Hono()
  const q = deps.queries ?? prepareFeedQueries(deps.db)
  const credential = requireEdgeCredential(deps)
  app.use(FEED_PATH, credential)
  app.use(SNAPSHOT_PATH, credential)

  app.get(FEED_PATH, async (c) => {
    const after = numberParam(c.req.query('after'), 'after', { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true, fallback: 0 })
    const limit = numberParam(c.req.query('limit'), 'limit', { min: 1, max: MAX_LIMIT, integer: true, fallback: DEFAULT_LIMIT })
    const wait = numberParam(c.req.query('wait'), 'wait', { min: 0, max: MAX_WAIT_SECONDS, integer: false, fallback: 0 })
    // An edge ahead of this origin's log holds changes this database never made (restored from a
    // backup, recreated): it must rebuild from the snapshot, not skip what comes next as applied.
    const head = await q.head()
    if (after > head) throw ociError('NOT_FOUND', { status: 410, message: 'the position is beyond this origin\'s change log: rebuild from the snapshot', detail: { after, head } })
    let page = await readChanges(q, after, limit)
    if (page.next === after && wait > 0) {
      await deps.waiters.wait(after, wait * 1000, c.req.raw.signal)
      page = await readChanges(q, after, limit)
    }
    // Read after the page: a prune that committed before the page was read is seen here, so a page
    // with a gap (changes above `after` already removed) is never sent as if it were whole.
    const prunedThrough = await q.prunedThrough()
    if (after < prunedThrough) throw ociError('NOT_FOUND', { status: 410, message: 'the position is older than this origin\'s change log keeps: rebuild from the snapshot', detail: { after, prunedThrough } })
    // Read after the page, so head >= the page's last seq (it is below next only when the client
    // asked beyond the head: an index built against another database).
    const body: FeedPage = { changes: page.changes, next: page.next, head: await q.head() }
    return c.json(body, 200, { 'Cache-Control': 'no-store' })
  })

  app.get(SNAPSHOT_PATH, (c) => {
    if (c.req.method === 'HEAD') return c.body(null, 200, { 'Content-Type': 'application/x-ndjson' })
    return c.body(snapshotStream(q), 200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' })
  })

  return app
}
