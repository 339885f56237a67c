// The follower against a small origin stand-in on 127.0.0.1 that serves the feed wire format
// (oci/pull/feed.ts): a streamed NDJSON snapshot and feed pages with long-poll.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FEED_PATH, SNAPSHOT_PATH, type Change, type SnapshotLine } from '../../oci/pull/feed.ts'
import { BASE_AT, changeLog, manifestBody, tempStore } from '../../test/helpers/index-feed.ts'
import { createSqlIndex, type SqlIndex } from './sql-index.ts'
import { FeedError, followFeed, syncOnce, type Follower } from './follow.ts'

const TOKEN = 'edge-secret'
const A = 'sha256:' + 'a'.repeat(64)
const B = 'sha256:' + 'b'.repeat(64)

/** What the stand-in origin serves; tests change it while the follower runs. */
interface Origin {
  url: string
  changes: Change[]
  snapshot: { position: number; records: SnapshotLine[]; cutShort?: boolean }
  /** Feed requests answered with these statuses first (one each). */
  failures: number[]
  pageSize: number
  requests: string[]
  /** Long-polls the client abandoned (its connection closed before the answer). */
  abandoned: number
  append(change: Change): void
  close(): Promise<void>
}

async function startOrigin(): Promise<Origin> {
  const waiters = new Set<() => void>()
  const origin: Origin = {
    url: '', changes: [], snapshot: { position: 0, records: [] }, failures: [], pageSize: 2, requests: [], abandoned: 0,
    append(change) {
      origin.changes.push(change)
      for (const wake of waiters) wake()
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://origin')
    origin.requests.push(url.pathname + url.search)
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return res.writeHead(401).end()
    if (url.pathname === SNAPSHOT_PATH) {
      const { position, records, cutShort } = origin.snapshot
      const lines: SnapshotLine[] = [{ type: 'header', position, takenAt: BASE_AT }, ...records, ...(cutShort ? [] : [{ type: 'end' as const, records: records.length }])]
      const text = lines.map((l) => JSON.stringify(l) + '\n').join('')
      res.writeHead(200, { 'content-type': 'application/x-ndjson' })
      // Chunks of 7 bytes: lines arrive split across reads, as they do over a real network.
      for (let i = 0; i < text.length; i += 7) res.write(text.slice(i, i + 7))
      return res.end()
    }
    if (url.pathname !== FEED_PATH) return res.writeHead(404).end()
    const failure = origin.failures.shift()
    if (failure) return res.writeHead(failure).end()
    const after = Number(url.searchParams.get('after'))
    const waitMs = Number(url.searchParams.get('wait')) * 1000
    const pending = () => origin.changes.filter((c) => c.seq > after)
    if (pending().length === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, waitMs)
        function wake() { clearTimeout(timer); waiters.delete(wake); resolve() }
        waiters.add(wake)
        res.on('close', () => { if (!res.writableEnded) origin.abandoned++; wake() })
      })
    }
    const changes = pending().slice(0, origin.pageSize)
    const head = origin.changes.at(-1)?.seq ?? 0
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ changes, next: changes.at(-1)?.seq ?? after, head }))
  }
  const server: Server = createServer((req, res) => void serve(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return origin
}

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

let db: ReturnType<typeof tempStore>
let index: SqlIndex
let origin: Origin
let follower: Follower | null
beforeEach(async () => {
  db = tempStore()
  index = await createSqlIndex(db.store)
  origin = await startOrigin()
  follower = null
})
afterEach(async () => {
  await follower?.stop()
  await origin.close()
  await db.cleanup()
})

/** A snapshot at position 2 holding r:v1 -> A, and a feed that repeats 1..2 and moves on. */
function seedOrigin(): ReturnType<typeof changeLog> {
  const c = changeLog()
  origin.append(c.manifestPut(manifestBody('r', A, 'one')))
  origin.append(c.tagSet({ repository: 'r', tag: 'v1', digest: A }))
  origin.snapshot = {
    position: 2,
    records: [
      { type: 'repository', name: 'r' },
      { type: 'manifest', repository: 'r', digest: A, mediaType: 'm', size: 3, subject: null, artifactType: null, annotations: null, payload: btoa('one') },
      { type: 'tag', repository: 'r', tag: 'v1', digest: A },
    ],
  }
  origin.append(c.manifestPut(manifestBody('r', B, 'two')))
  origin.append(c.tagSet({ repository: 'r', tag: 'v2', digest: B }))
  origin.append(c.tagSet({ repository: 'r', tag: 'latest', digest: B }))
  return c
}

describe('followFeed', () => {
  it('bootstraps from the snapshot, catches up page by page, then sees a push within a long-poll', async () => {
    const c = seedOrigin()
    const errors: unknown[] = []
    follower = followFeed({ index, originUrl: origin.url + '/', token: TOKEN, waitSeconds: 20, onError: (e) => errors.push(e) })
    await until(async () => (await index.position()) === 5)
    expect(await index.tags('r', { n: 10, last: null })).toEqual(['latest', 'v1', 'v2'])
    expect(await index.status()).toMatchObject({ ready: true, head: 5, lagSeconds: 0 })
    expect(origin.requests.filter((r) => r === SNAPSHOT_PATH)).toHaveLength(1)
    expect(origin.requests).toContain(`${FEED_PATH}?after=2&wait=20`)

    const pushedAt = Date.now()
    origin.append(c.tagSet({ repository: 'r', tag: 'latest', digest: A }))
    await until(async () => (await index.manifest('r', { kind: 'tag', tag: 'latest' }))?.digest === A)
    expect(Date.now() - pushedAt).toBeLessThan(1000)
    expect(errors).toEqual([])
  })

  it('stops promptly, aborting the long-poll in flight', async () => {
    seedOrigin()
    follower = followFeed({ index, originUrl: origin.url, token: TOKEN, waitSeconds: 30 })
    await until(async () => (await index.position()) === 5)
    await until(async () => origin.requests.at(-1) === `${FEED_PATH}?after=5&wait=30`)
    const started = Date.now()
    await follower.stop()
    follower = null
    expect(Date.now() - started).toBeLessThan(500)
    await until(async () => origin.abandoned === 1)
  })

  it('backs off on errors and recovers, reporting each failure', async () => {
    seedOrigin()
    origin.failures = [500, 503, 502]
    const errors: unknown[] = []
    follower = followFeed({ index, originUrl: origin.url, token: TOKEN, waitSeconds: 1, backoff: { initialMs: 20, maxMs: 40 }, onError: (e) => errors.push(e) })
    await until(async () => (await index.position()) === 5)
    expect(errors.map((e) => (e as FeedError).status)).toEqual([500, 503, 502])
  })

  it('keeps serving the old contents when a snapshot is cut short, and retries', async () => {
    seedOrigin()
    origin.snapshot.cutShort = true
    const errors: unknown[] = []
    follower = followFeed({ index, originUrl: origin.url, token: TOKEN, waitSeconds: 1, backoff: { initialMs: 20, maxMs: 20 }, onError: (e) => errors.push(e) })
    await until(async () => errors.length >= 2)
    expect(await index.status()).toMatchObject({ ready: false, position: 0 })
    expect(String(errors[0])).toMatch(/without its end line/)
    origin.snapshot.cutShort = false
    await until(async () => (await index.position()) === 5)
  })

  it('reports a wrong credential as a 401 FeedError', async () => {
    const errors: unknown[] = []
    follower = followFeed({ index, originUrl: origin.url, token: 'wrong', backoff: { initialMs: 1000, maxMs: 1000 }, onError: (e) => errors.push(e) })
    await until(async () => errors.length === 1)
    expect(errors[0]).toBeInstanceOf(FeedError)
    expect((errors[0] as FeedError).status).toBe(401)
  })
})

describe('syncOnce', () => {
  it('bootstraps and applies every page without waiting, then finds nothing new', async () => {
    const c = seedOrigin()
    expect(await syncOnce({ index, originUrl: origin.url, token: TOKEN })).toEqual({ bootstrapped: true, applied: 3, position: 5, head: 5 })
    expect(origin.requests.filter((r) => r.startsWith(FEED_PATH)).every((r) => r.endsWith('wait=0'))).toBe(true)
    origin.append(c.tagDeleted({ repository: 'r', tag: 'v1' }))
    expect(await syncOnce({ index, originUrl: origin.url, token: TOKEN })).toEqual({ bootstrapped: false, applied: 1, position: 6, head: 6 })
    expect(await index.tags('r', { n: 10, last: null })).toEqual(['latest', 'v2'])
    expect(await syncOnce({ index, originUrl: origin.url, token: TOKEN })).toMatchObject({ applied: 0, position: 6 })
  })

  it('rebuilds from the snapshot when the feed answers 410 (position older than the origin keeps)', async () => {
    seedOrigin()
    await syncOnce({ index, originUrl: origin.url, token: TOKEN })
    origin.failures = [410]
    origin.snapshot = { position: 5, records: [{ type: 'repository', name: 'fresh' }] }
    await syncOnce({ index, originUrl: origin.url, token: TOKEN })
    expect(await index.catalog({ n: 10, last: null })).toEqual(['fresh'])
    expect(origin.requests.filter((r) => r === SNAPSHOT_PATH)).toHaveLength(2)
    expect(await index.position()).toBe(5)
  })

  it('stops after maxPages, leaving the rest for the next run with the lag reported', async () => {
    seedOrigin()
    origin.pageSize = 1
    expect(await syncOnce({ index, originUrl: origin.url, token: TOKEN, maxPages: 2 })).toMatchObject({ position: 4, head: 5 })
    expect((await index.status()).lagSeconds).toBeGreaterThan(0)
  })
})
