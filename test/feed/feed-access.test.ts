// Who may read the change feed and snapshot: with an edge token, only its holders; without one,
// only an origin that listens on loopback. And the origin's location.health changes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { expectOciError } from '../helpers/registry-client.ts'
import { FEED_PATH, SNAPSHOT_PATH } from '../../oci/pull/feed.ts'
import { renderError } from '../../oci/errors.ts'
import { createFeedRoutes } from '../../origin/feed/routes.ts'
import { createChangeWaiters } from '../../origin/feed/change-waiters.ts'
import { createHealthRecorder } from '../../origin/feed/health-changes.ts'
import { prepareFeedQueries } from '../../db/queries/feed.ts'
import { StorageError } from '../../storage/engine.ts'
import { createLocationSet } from '../../origin/locations.ts'
import { feedPage } from './feed-model.ts'

const TOKEN = 'edge-s3cret-token'

describe('edge credential', () => {
  let origin: TestOrigin
  beforeAll(async () => { origin = await startTestOrigin({ env: { MERIDIAN_EDGE_TOKEN: TOKEN } }) })
  afterAll(async () => { await origin?.close() })

  it('refuses the feed and the snapshot without the token, or with another one', async () => {
    for (const path of [FEED_PATH, SNAPSHOT_PATH]) {
      const none = await fetch(`${origin.url}${path}`)
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="meridian-edge"')
      await expectOciError(none, 'UNAUTHORIZED', 401)
      await expectOciError(await fetch(`${origin.url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}x` } }), 'UNAUTHORIZED', 401)
      await expectOciError(await fetch(`${origin.url}${path}`, { headers: { Authorization: TOKEN } }), 'UNAUTHORIZED', 401)
    }
  })

  it('answers with the token', async () => {
    const page = await feedPage(origin.url, 'after=0', { Authorization: `Bearer ${TOKEN}` })
    expect(page.next).toBe(page.head)
    const res = await fetch(`${origin.url}${SNAPSHOT_PATH}`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    expect(res.status).toBe(200)
    expect((await res.text()).trim().split('\n').pop()).toMatch(/^\{"type":"end","records":\d+\}$/)
  })

  it('checks the token before the parameters', async () => {
    await expectOciError(await fetch(`${origin.url}${FEED_PATH}?limit=0`), 'UNAUTHORIZED', 401)
  })

  it('is closed without a token when the origin listens beyond loopback', async () => {
    const queries = prepareFeedQueries(origin.db)
    const app = new Hono()
    app.route('/', createFeedRoutes({ db: origin.db, token: null, openWithoutToken: () => false, waiters: createChangeWaiters({ readHead: queries.head }) }))
    app.onError((err) => renderError(err))
    await expectOciError(await app.request(FEED_PATH), 'UNAUTHORIZED', 401)
    await expectOciError(await app.request(SNAPSHOT_PATH), 'UNAUTHORIZED', 401)
  })
})

describe('long-poll limits', () => {
  let origin: TestOrigin
  beforeAll(async () => { origin = await startTestOrigin() })
  afterAll(async () => { await origin?.close() })

  it('refuses a poll beyond the cap with 429, and frees the slot of a poll whose client went away', async () => {
    const queries = prepareFeedQueries(origin.db)
    const waiters = createChangeWaiters({ readHead: queries.head, max: 1 })
    const app = new Hono()
    app.route('/', createFeedRoutes({ db: origin.db, token: null, openWithoutToken: () => true, waiters }))
    app.onError((err) => renderError(err))
    const head = await queries.head()
    const gone = new AbortController()
    const first = Promise.resolve(app.request(new Request(`http://origin${FEED_PATH}?after=${head}&wait=30`, { signal: gone.signal })))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(waiters.waiting).toBe(1)
    const refused = await app.request(`${FEED_PATH}?after=${head}&wait=30`)
    expect(refused.headers.get('retry-after')).toBe('1')
    await expectOciError(refused, 'TOOMANYREQUESTS', 429)
    // A request that waits for nothing is never refused.
    expect((await app.request(`${FEED_PATH}?after=${head}`)).status).toBe(200)
    const t0 = performance.now()
    gone.abort()
    await first.catch(() => null)
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(waiters.waiting).toBe(0)
  })
})

describe('location.health changes', () => {
  let origin: TestOrigin
  beforeAll(async () => { origin = await startTestOrigin({ edit: (c) => ({ ...c, replication: { ...c.replication, enabled: false } }) }) })
  afterAll(async () => { await origin?.close() })

  it('appends one when the origin marks a location down for reads, and not for a write failure', async () => {
    const { head } = await feedPage(origin.url, 'after=0')
    const id = origin.config.preference[1]!
    origin.locations.markDown(id, new StorageError('unavailable', id, 'simulated'), 'write')
    origin.locations.markDown(id, new StorageError('unavailable', id, 'simulated'))
    origin.locations.markDown(id, new StorageError('unavailable', id, 'simulated again'))
    // The append is asynchronous (a round trip on PostgreSQL): wait for it.
    await expect.poll(async () => (await feedPage(origin.url, `after=${head}`)).changes, { timeout: 5000 })
      .toMatchObject([{ kind: 'location.health', location: id, readable: false }])
  })

  it('sends at most one per location per interval, ending on the current state', async () => {
    let t = 0
    const queries = prepareFeedQueries(origin.db)
    const start = await queries.head()
    let appended = 0
    // The clock and the timer are the test's: the pending flip goes out when the test fires it,
    // however long the appends take on a loaded machine.
    const armed: { fn: () => void; ms: number }[] = []
    const timers = { set: (fn: () => void, ms: number) => armed.push({ fn, ms }), clear: () => {} }
    const recorder = createHealthRecorder({ db: origin.db, minIntervalMs: 1000, now: () => t, timers, onAppend: () => { appended++ } })
    try {
      recorder.record('flappy', false)
      t = 10
      recorder.record('flappy', true)
      recorder.record('flappy', false)
      recorder.record('flappy', true)
      recorder.record('steady', false)
      const kinds = async () => (await queries.changesAfter(start, 100)).map((r) => JSON.parse(r.payload) as { location: string; readable: boolean })
      // Appends are asynchronous: count them (onAppend), then read the log.
      await expect.poll(() => appended, { timeout: 5000 }).toBe(2)
      expect(await kinds()).toEqual([{ location: 'flappy', readable: false }, { location: 'steady', readable: false }])
      // One timer for flappy's pending flip, due when its interval ends (990 ms after t = 10).
      expect(armed.map((a) => a.ms)).toEqual([990])
      t = 1000
      armed[0]!.fn()
      await expect.poll(() => appended, { timeout: 5000 }).toBe(3)
      expect(await kinds()).toEqual([{ location: 'flappy', readable: false }, { location: 'steady', readable: false }, { location: 'flappy', readable: true }])
    } finally {
      recorder.close()
    }
  })

  it('appends in the order it sent, even when the first append is the slower one', async () => {
    const queries = prepareFeedQueries(origin.db)
    const start = await queries.head()
    // The real database, but the first append's transaction starts 200 ms late: sent concurrently,
    // the second would commit first (as two pooled PostgreSQL connections may).
    let delayed = false
    const db = new Proxy(origin.db, {
      get(target, prop, receiver) {
        if (prop !== 'transaction') return Reflect.get(target, prop, receiver)
        return async (fn: Parameters<typeof target.transaction>[0]) => {
          if (!delayed) {
            delayed = true
            await new Promise((resolve) => setTimeout(resolve, 200))
          }
          return target.transaction(fn)
        }
      },
    })
    let appended = 0
    const recorder = createHealthRecorder({ db, onAppend: () => { appended++ } })
    try {
      recorder.record('first', false)
      recorder.record('second', false)
      await expect.poll(() => appended, { timeout: 5000 }).toBe(2)
      const locations = (await queries.changesAfter(start, 100)).filter((r) => r.kind === 'location.health').map((r) => (JSON.parse(r.payload) as { location: string }).location)
      expect(locations).toEqual(['first', 'second'])
    } finally {
      recorder.close()
    }
  })

  it('reports a location readable again when marked up, or when its cool-down ends', async () => {
    const flips: [string, boolean][] = []
    const memory = (id: string) => ({ id, driver: 'memory' as const, params: {}, lat: 0, lon: 0, replicateByDefault: false, serve: 'proxy' as const, readOnly: false })
    const locations = createLocationSet([memory('a')], ['a'], { downSeconds: 0.1, onHealthChange: (id, readable) => flips.push([id, readable]) })
    try {
      locations.markDown('a', new StorageError('unavailable', 'a', 'simulated'))
      locations.markUp('a')
      locations.markUp('a')
      expect(flips).toEqual([['a', false], ['a', true]])
      locations.markDown('a', new StorageError('invalid', 'a', 'the caller\'s fault'))
      locations.markDown('a', new StorageError('unavailable', 'a', 'simulated'))
      expect(flips).toHaveLength(3)
      await new Promise((resolve) => setTimeout(resolve, 250))
      expect(flips).toEqual([['a', false], ['a', true], ['a', false], ['a', true]])
    } finally {
      await locations.close()
    }
  })
})
