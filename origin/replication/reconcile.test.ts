// The reconciler's pacing: a pass pages quickly, then rests.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../../db/client.ts'
import { commitBlob } from '../../db/queries/blobs.ts'
import { jobsOf } from '../../db/queries/replication.ts'
import { testDatabaseUrl } from '../../test/helpers/test-database.ts'
import { reconcilePage, startReconciler } from './reconcile.ts'

describe('reconciler', () => {
  let dir: string
  let db: Db
  afterEach(async () => {
    await closeDatabase(db)
    rmSync(dir, { recursive: true, force: true })
  })

  const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`
  async function seed(count: number) {
    dir = mkdtempSync(join(tmpdir(), 'meridian-reconcile-'))
    db = await openDatabase(await testDatabaseUrl(dir))
    for (let i = 1; i <= count; i++) await commitBlob(db, { repository: 'acme/app', digest: digest(i), size: 10, location: 'a', targetsFor: () => [] })
  }

  it('enqueues what a new target location lacks, page by page, and reports a cursor until the end', async () => {
    await seed(5)
    const first = await reconcilePage(db, () => ['a', 'b'], { limit: 2 })
    expect(first).toMatchObject({ scanned: 2, jobs: 2, cursor: digest(2) })
    const rest = await reconcilePage(db, () => ['a', 'b'], { after: first.cursor, limit: 10 })
    expect(rest).toMatchObject({ scanned: 3, jobs: 3, cursor: null })
    expect((await jobsOf(db, digest(5))).map((j) => j.location)).toEqual(['b'])
    // Nothing left to do: a second pass enqueues nothing.
    expect((await reconcilePage(db, () => ['a', 'b'], { limit: 10 })).jobs).toBe(0)
  })

  it('pages through a pass without waiting the interval between pages', async () => {
    await seed(6)
    const results: number[] = []
    // A minute between passes: only the short gap between pages can finish this within the poll.
    const r = startReconciler(db, () => ['a', 'b'], { intervalMs: 60_000, pageGapMs: 5, pageSize: 2, onResult: (x) => results.push(x.jobs) })
    await expect.poll(async () => (await jobsOf(db, digest(6))).length, { timeout: 2000 }).toBe(1)
    await r.stop()
    expect(results.slice(0, 3)).toEqual([2, 2, 2])
  })

  it('reports a failed page and carries on, and stop() waits for the page in flight', async () => {
    await seed(2)
    const errors: unknown[] = []
    let calls = 0
    // The first page's policy lookup throws; the next tick succeeds from the same cursor.
    const targetsFor = () => { if (calls++ === 0) throw new Error('policy unavailable'); return ['a', 'b'] }
    const results: number[] = []
    const r = startReconciler(db, targetsFor, { intervalMs: 5, pageGapMs: 5, pageSize: 10, onResult: (x) => results.push(x.jobs), onError: (err) => errors.push(err) })
    await expect.poll(() => results.length, { timeout: 2000 }).toBeGreaterThan(0)
    await r.stop()
    expect(errors).toHaveLength(1)
    expect(results[0]).toBe(2)
    expect((await jobsOf(db, digest(1))).map((j) => j.location)).toEqual(['b'])
  })
})
