// The change log's retention (origin.changeRetentionHours, db/queries/change-pruning.ts) as edges
// see it: a position the origin pruned past is answered 410, never a page with a silent gap, and
// an edge index that was away too long rebuilds from the snapshot and serves what the origin holds.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../origin/config/load.ts'
import { changesPrunedThrough, pruneChanges } from '../../db/queries/change-pruning.ts'
import { startRetention } from '../../origin/retention.ts'
import { appendChange } from '../../db/queries/changes.ts'
import { commitBlob } from '../../db/queries/blobs.ts'
import { claimDueJobs, completeJob, jobsOf } from '../../db/queries/replication.ts'
import { silentLogger } from '../../origin/log.ts'
import { FEED_PATH } from '../../oci/pull/feed.ts'
import { createSqlIndex } from '../../edge/index/sql-index.ts'
import { syncOnce } from '../../edge/index/follow.ts'
import { tempStore } from '../helpers/index-feed.ts'
import { openTestDatabase } from '../helpers/test-database.ts'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { pushImage, uniqueName } from '../helpers/registry-client.ts'
import { feedPage } from './feed-model.ts'
import { Hono } from 'hono'
import { prepareFeedQueries, type FeedQueries } from '../../db/queries/feed.ts'
import { createFeedRoutes } from '../../origin/feed/routes.ts'
import { createChangeWaiters } from '../../origin/feed/change-waiters.ts'
import { renderError } from '../../oci/errors.ts'

const DAY = 24 * 3_600_000

describe('a pruned change log', () => {
  let origin: TestOrigin
  beforeAll(async () => { origin = await startTestOrigin({ edit: (c) => ({ ...c, replication: { ...c.replication, enabled: false } }) }) })
  afterAll(async () => { await origin?.close() })

  it('answers 410 below what it pruned, and whole pages from there on', async () => {
    const name = uniqueName('prune')
    await pushImage(origin.url, name, 'v1')
    const { head, changes } = await feedPage(origin.url, 'after=0&limit=5000')
    // Ten days on, with a week's retention: everything but the newest change goes.
    const pruned = await pruneChanges(origin.db, { retainMs: 7 * DAY, now: Date.now() + 10 * DAY })
    expect(pruned.through).toBe(changes.at(-2)!.seq)
    expect(pruned.removed).toBe(changes.length - 1)

    const res = await fetch(`${origin.url}${FEED_PATH}?after=0`)
    expect(res.status).toBe(410)
    expect((await res.json()).errors[0].message).toMatch(/older than this origin's change log keeps: rebuild from the snapshot/)
    const polled = await fetch(`${origin.url}${FEED_PATH}?after=${changes.at(-3)!.seq}&wait=5`)
    expect(polled.status).toBe(410)
    await polled.body?.cancel()

    const page = await feedPage(origin.url, `after=${pruned.through}`)
    expect(page.changes.map((c) => c.seq)).toEqual([head])
    expect((await feedPage(origin.url, `after=${head}`)).changes).toEqual([])
  })

  it('answers 410 when a prune commits while the page is read, never the page with its gap', async () => {
    await pushImage(origin.url, uniqueName('race'), 'v1')
    const real = prepareFeedQueries(origin.db)
    const { changes } = await feedPage(origin.url, `after=${await real.prunedThrough()}&limit=5000`)
    // The page is read, then a prune past it commits before the route looks at the watermark.
    const queries: FeedQueries = {
      ...real,
      changesAfter: async (after, limit) => {
        const rows = await real.changesAfter(after, limit)
        await pruneChanges(origin.db, { retainMs: 7 * DAY, now: Date.now() + 10 * DAY })
        return rows
      },
    }
    const app = new Hono()
    app.route('/', createFeedRoutes({ db: origin.db, queries, token: null, openWithoutToken: () => true, waiters: createChangeWaiters({ readHead: real.head }) }))
    app.onError((err) => renderError(err))
    const res = await app.request(`${FEED_PATH}?after=${changes[0]!.seq}`)
    expect(res.status).toBe(410)
  })

  it('sends an edge that was away too long to the snapshot, and its index then serves what the origin holds', async () => {
    const index = await createSqlIndex(tempStore().store)
    const sync = () => syncOnce({ index, originUrl: origin.url, token: 'unused-on-loopback' })
    const first = uniqueName('away')
    await pushImage(origin.url, first, 'v1')
    expect((await sync()).bootstrapped).toBe(true)
    await appendChange(origin.db, 'location.health', null, { location: 'flaky', readable: false })
    await sync()
    expect(await index.locationHealth()).toMatchObject([{ location: 'flaky', readable: false }])
    const behind = await index.position()

    // While the edge is away: the location recovers, a new image, and a prune past the edge's position.
    await appendChange(origin.db, 'location.health', null, { location: 'flaky', readable: true })
    const second = uniqueName('away')
    const pushed = await pushImage(origin.url, second, 'v2')
    await pruneChanges(origin.db, { retainMs: 7 * DAY, now: Date.now() + 10 * DAY })
    expect(await changesPrunedThrough(origin.db)).toBeGreaterThan(behind)

    await sync()
    expect(await index.position()).toBe((await feedPage(origin.url, `after=${await changesPrunedThrough(origin.db)}`)).head)
    expect(await index.tags(first, { n: 10, last: null })).toEqual(['v1'])
    expect(await index.tags(second, { n: 10, last: null })).toEqual(['v2'])
    // The manifest's own change was pruned: only the snapshot can have brought it.
    expect((await index.manifest(second, { kind: 'tag', tag: 'v2' }))?.digest).toBe(pushed.digest)
    // The recovery was pruned too: the rebuild forgets the stale "down" rather than keep it for good.
    expect((await index.locationHealth()).filter((h) => !h.readable)).toEqual([])
  })
})

describe('the pruning timer', () => {
  it('prunes at start what is older than the retention, and nothing at a retention of 0', async () => {
    const t = await openTestDatabase('meridian-prune-timer-')
    try {
      const old = Date.now() - 3 * DAY
      for (let i = 0; i < 3; i++) await appendChange(t.db, 'tag.set', 'r', { tag: `t${i}` }, old)
      const off = startRetention(t.db, silentLogger, { changeRetentionHours: 0, jobRetentionHours: 0 })
      await off.stop()
      expect(await changesPrunedThrough(t.db)).toBe(0)
      const on = startRetention(t.db, silentLogger, { changeRetentionHours: 24, jobRetentionHours: 0 })
      await on.stop() // waits for the pass it started
      expect(await changesPrunedThrough(t.db)).toBeGreaterThan(0)
    } finally {
      await t.close()
    }
  })

  it('prunes finished replication jobs older than their retention, in the same pass', async () => {
    const t = await openTestDatabase('meridian-prune-jobs-')
    try {
      const old = Date.now() - 3 * DAY
      const D = `sha256:${'ab'.repeat(32)}`
      await commitBlob(t.db, { repository: 'team/app', digest: D, size: 5, location: 'us', targetsFor: () => ['us', 'eu'], now: old })
      const [job] = await claimDueJobs(t.db, { owner: 'w', limit: 1, leaseMs: 60_000, now: old })
      await completeJob(t.db, job!, { size: 5, source: 'us', now: old })
      const pass = startRetention(t.db, silentLogger, { changeRetentionHours: 0, jobRetentionHours: 24 })
      await pass.stop()
      expect(await jobsOf(t.db, D)).toEqual([])
    } finally {
      await t.close()
    }
  })

  it('reads its retention from the config file and the environment, a week by default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-prune-config-'))
    try {
      expect(loadConfig({ MERIDIAN_DATA_DIR: dir }).config.origin.changeRetentionHours).toBe(168)
      expect(loadConfig({ MERIDIAN_DATA_DIR: dir, MERIDIAN_CHANGE_RETENTION_HOURS: '0' }).config.origin.changeRetentionHours).toBe(0)
      expect(() => loadConfig({ MERIDIAN_DATA_DIR: dir, MERIDIAN_CHANGE_RETENTION_HOURS: '1.5' })).toThrow(/MERIDIAN_CHANGE_RETENTION_HOURS/)
      expect(() => loadConfig({ MERIDIAN_DATA_DIR: dir, MERIDIAN_CHANGE_RETENTION_HOURS: '-1' })).toThrow(/MERIDIAN_CHANGE_RETENTION_HOURS/)
      expect(loadConfig({ MERIDIAN_DATA_DIR: dir }).config.replication.jobRetentionHours).toBe(168)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
