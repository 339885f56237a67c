import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import { commitBlob } from './blobs.ts'
import { enqueueReplication } from './placements.ts'
import { claimDueJobs, completeJob, failJob, jobsOf } from './replication.ts'
import { pruneFinishedJobs } from './job-pruning.ts'

let t: TestDatabase
beforeEach(async () => { t = await openTestDatabase('meridian-job-prune-') })
afterEach(async () => { await t.close() })

const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`

/** Blob i pushed to 'us' at `at`, its copy to 'eu' claimed then, and finished at `finished` (or failed for good). */
async function jobAt(i: number, at: number, end: { finished: number } | 'dead' | 'running') {
  await commitBlob(t.db, { repository: 'team/app', digest: digest(i), size: 5, location: 'us', targetsFor: () => ['us', 'eu'], now: at })
  const [job] = await claimDueJobs(t.db, { owner: 'w', limit: 1, leaseMs: 60_000, now: at })
  if (end === 'dead') await failJob(t.db, job!, { error: 'gone', maxAttempts: 1, backoffBaseMs: 10, backoffMaxMs: 10, now: at })
  else if (end !== 'running') await completeJob(t.db, job!, { size: 5, source: 'us', now: end.finished })
}

const states = async (n: number) => Promise.all(Array.from({ length: n }, async (_, i) => (await jobsOf(t.db, digest(i))).map((j) => j.state)))

describe('pruning finished replication jobs', () => {
  it('removes only done jobs that finished before the cut-off: dead letters and running jobs stay', async () => {
    await jobAt(0, 1000, { finished: 1100 })
    await jobAt(1, 2000, { finished: 5000 }) // due before the cut-off, finished after it
    await jobAt(2, 1000, 'dead')
    await jobAt(3, 1000, 'running')
    await jobAt(4, 6000, { finished: 6100 })
    expect(await pruneFinishedJobs(t.db, { cutoffAt: 3000 })).toBe(1)
    expect(await states(5)).toEqual([[], ['done'], ['dead'], ['running'], ['done']])
  })

  it('works in batches until every old one is gone, past one that must stay', async () => {
    for (let i = 0; i < 7; i++) await jobAt(i, 1000 + i, { finished: i === 3 ? 4000 : 1100 + i })
    expect(await pruneFinishedJobs(t.db, { cutoffAt: 3000, batch: 3 })).toBe(6)
    expect(await states(7)).toEqual([[], [], [], ['done'], [], [], []])
  })

  it('lets a blob that loses its copy again be queued again', async () => {
    await jobAt(0, 1000, { finished: 1100 })
    await pruneFinishedJobs(t.db, { cutoffAt: 3000 })
    // The eu copy went missing: a new job is made (no done row stands in its way, none is needed).
    await t.db.transaction(async (tx) => {
      await tx.$execute(`update placements set state = 'missing' where digest = ? and location = 'eu'`, [digest(0)], 'run')
      expect(await enqueueReplication(tx, digest(0), ['eu'], 4000)).toBe(1)
    })
    expect((await jobsOf(t.db, digest(0))).map((j) => j.state)).toEqual(['pending'])
  })
})
