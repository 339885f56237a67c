// The reconciler's pacing: a pass pages quickly, then rests.

import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../../db/client.ts'
import { commitBlob } from '../../db/queries/blobs.ts'
import { jobsOf } from '../../db/queries/replication.ts'
import { reconcilePage, startReconciler } from './reconcile.ts'

describe('reconciler', () => {
  let db: Db
  afterEach(() => closeDatabase(db))

  const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`
  function seed(count: number) {
    db = openDatabase(':memory:')
    for (let i = 1; i <= count; i++) commitBlob(db, { repository: 'acme/app', digest: digest(i), size: 10, location: 'a', targetsFor: () => [] })
  }

  it('enqueues what a new target location lacks, page by page, and reports a cursor until the end', () => {
    seed(5)
    const first = reconcilePage(db, () => ['a', 'b'], { limit: 2 })
    expect(first).toMatchObject({ scanned: 2, jobs: 2, cursor: digest(2) })
    const rest = reconcilePage(db, () => ['a', 'b'], { after: first.cursor, limit: 10 })
    expect(rest).toMatchObject({ scanned: 3, jobs: 3, cursor: null })
    expect(jobsOf(db, digest(5)).map((j) => j.location)).toEqual(['b'])
    // Nothing left to do: a second pass enqueues nothing.
    expect(reconcilePage(db, () => ['a', 'b'], { limit: 10 }).jobs).toBe(0)
  })

  it('pages through a pass without waiting the interval between pages', async () => {
    seed(6)
    const results: number[] = []
    // A minute between passes: only the short gap between pages can finish this within the poll.
    const r = startReconciler(db, () => ['a', 'b'], { intervalMs: 60_000, pageGapMs: 5, pageSize: 2, onResult: (x) => results.push(x.jobs) })
    await expect.poll(() => jobsOf(db, digest(6)).length, { timeout: 2000 }).toBe(1)
    r.stop()
    expect(results.slice(0, 3)).toEqual([2, 2, 2])
  })
})
