// Keeps a region index in step with the origin (ARCHITECTURE §5 "Region index"): bootstrap from
// the snapshot when the index is new (or was rebuilt for a schema change), then long-poll the
// change feed after the index's position and apply each page. Self-hosted edges run followFeed;
// Cloudflare's Cron Trigger calls syncOnce, which never waits.

import { FEED_PATH, SNAPSHOT_PATH, type FeedPage, type SnapshotLine } from '../../oci/pull/feed.ts'
import { ndjsonLines } from './ndjson.ts'
import type { SqlIndex } from './sql-index.ts'

export type FollowLog = (msg: string, fields?: Record<string, unknown>) => void

export interface FeedOptions {
  index: SqlIndex
  /** The origin's public URL (a path prefix is kept). */
  originUrl: string
  /** The edge credential, sent as `Authorization: Bearer`; never logged. */
  token: string
  fetch?: typeof fetch
  /** Changes per page to ask for; the origin's default when unset. */
  limit?: number
  log?: FollowLog
}

export interface FollowOptions extends FeedOptions {
  /** Long-poll: how long the origin may hold a feed request open with nothing new. */
  waitSeconds?: number
  /** Called with every failed round (the loop backs off and carries on). */
  onError?: (err: unknown) => void
  /** Capped exponential back-off after consecutive failures. */
  backoff?: { initialMs: number; maxMs: number }
}

export interface Follower {
  /** Ends the loop, aborting an in-flight long-poll; resolves once it has ended. */
  stop(): Promise<void>
}

/** The origin answered a feed or snapshot request with an error status. */
export class FeedError extends Error {
  override name = 'FeedError'
  readonly status: number
  constructor(status: number, what: string) {
    super(`${what} answered HTTP ${status}`)
    this.status = status
  }
}

/** How long past `wait` a feed request may take before it counts as hung. */
const GRACE_MS = 15_000
/** Shortest round that brought nothing new, before asking again. */
const MIN_EMPTY_ROUND_MS = 1000

export function followFeed(options: FollowOptions): Follower {
  const { waitSeconds = 20, backoff = { initialMs: 500, maxMs: 30_000 }, log = () => {} } = options
  const onError = options.onError ?? ((err: unknown) => log('index feed failed', { error: String(err) }))
  const controller = new AbortController()
  let stopped = false

  async function round(): Promise<number> {
    const status = await options.index.status()
    if (!status.ready) await bootstrap(options, controller.signal)
    // One controller per request rather than AbortSignal.any on the loop's long-lived signal:
    // some Node versions keep every signal combined with a live parent until the parent dies.
    const request = new AbortController()
    const abort = () => request.abort(new Error('feed request timed out'))
    const timer = setTimeout(abort, waitSeconds * 1000 + GRACE_MS)
    const onStop = () => request.abort(controller.signal.reason)
    controller.signal.addEventListener('abort', onStop)
    try {
      return (await pullPage(options, await options.index.position(), waitSeconds, request.signal, controller.signal)).applied
    } finally {
      clearTimeout(timer)
      controller.signal.removeEventListener('abort', onStop)
    }
  }

  const done = (async () => {
    let failures = 0
    while (!stopped) {
      try {
        const started = Date.now()
        const applied = await round()
        failures = 0
        // An origin that answers an empty page at once (no long-poll) must not be polled in a spin.
        const elapsed = Date.now() - started
        if (applied === 0 && elapsed < MIN_EMPTY_ROUND_MS) await sleep(MIN_EMPTY_ROUND_MS - elapsed, controller.signal)
      } catch (err) {
        if (stopped) break
        failures++
        onError(err)
        await sleep(Math.min(backoff.maxMs, backoff.initialMs * 2 ** (failures - 1)), controller.signal)
      }
    }
  })()

  return {
    async stop() {
      stopped = true
      controller.abort()
      await done
    },
  }
}

export interface SyncResult {
  bootstrapped: boolean
  /** How far the position moved in this round (in seqs). */
  applied: number
  position: number
  head: number
}

/**
 * One round without waiting (Cloudflare's Cron Trigger): bootstrap if needed, then apply pages
 * until caught up with the head or `maxPages` were applied (a cron run has a CPU budget).
 */
export async function syncOnce(options: FeedOptions & { maxPages?: number; signal?: AbortSignal }): Promise<SyncResult> {
  const { maxPages = 50, signal } = options
  let bootstrapped = false
  if (!(await options.index.status()).ready) {
    await bootstrap(options, signal)
    bootstrapped = true
  }
  let applied = 0
  let position = await options.index.position()
  let head = position
  for (let pages = 0; pages < maxPages; pages++) {
    const page = await pullPage(options, position, 0, signal)
    applied += page.applied
    position = page.position
    head = page.head
    if (page.applied === 0 || position >= head) break
  }
  return { bootstrapped, applied, position, head }
}

/**
 * One feed page after `after`, applied. A 410 means the position is older than the origin's log
 * keeps: the index is rebuilt from the snapshot (under `snapshotSignal`, which has no time limit).
 */
async function pullPage(options: FeedOptions, after: number, waitSeconds: number, signal?: AbortSignal, snapshotSignal = signal) {
  const { index, log = () => {} } = options
  const query = new URLSearchParams({ after: String(after), wait: String(waitSeconds) })
  if (options.limit !== undefined) query.set('limit', String(options.limit))
  const res = await request(options, `${FEED_PATH}?${query}`, 'application/json', signal)
  if (res.status === 410) {
    await res.body?.cancel()
    log('index position is older than the origin keeps: rebuilding from the snapshot', { position: after })
    await bootstrap(options, snapshotSignal)
    const position = await index.position()
    return { applied: 0, position, head: position }
  }
  if (!res.ok) {
    await res.body?.cancel()
    throw new FeedError(res.status, 'feed')
  }
  const page = parsePage(await res.json())
  const position = await index.apply(page.changes, { head: page.head, next: page.next })
  return { applied: position - after, position, head: page.head }
}

/** Streams the snapshot into the index; the old contents stay if it fails half-way. */
async function bootstrap(options: FeedOptions, signal?: AbortSignal): Promise<void> {
  const { index, log = () => {} } = options
  const started = Date.now()
  const res = await request(options, SNAPSHOT_PATH, 'application/x-ndjson', signal)
  if (!res.ok || !res.body) {
    await res.body?.cancel()
    throw new FeedError(res.status, 'snapshot')
  }
  const loaded = await index.loadSnapshot(ndjsonLines<SnapshotLine>(res.body))
  log('index snapshot loaded', { position: loaded.position, records: loaded.records, ms: Date.now() - started })
}

function request(options: FeedOptions, path: string, accept: string, signal?: AbortSignal): Promise<Response> {
  const doFetch = options.fetch ?? fetch
  return doFetch(options.originUrl.replace(/\/+$/, '') + path, {
    headers: { authorization: `Bearer ${options.token}`, accept },
    signal,
  })
}

function parsePage(body: unknown): FeedPage {
  const page = body as FeedPage
  if (!page || !Array.isArray(page.changes) || !Number.isFinite(page.next) || !Number.isFinite(page.head)) {
    throw new Error('feed page is not a FeedPage')
  }
  return page
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })
}
