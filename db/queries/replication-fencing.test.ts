import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import { commitBlob } from './blobs.ts'
import { placementsOf } from './placements.ts'
import { claimDueJobs, completeJob, failJob, jobsOf } from './replication.ts'

let t: TestDatabase
beforeEach(async () => { t = await openTestDatabase('meridian-fencing-') })
afterEach(async () => { await t.close() })

const D = `sha256:${'cd'.repeat(32)}`

describe('a worker whose lease expired', () => {
  it('neither completes nor fails the job another worker re-claimed; its copy still counts as a placement', async () => {
    await commitBlob(t.db, { repository: 'team/app', digest: D, size: 5, location: 'us', targetsFor: () => ['us', 'eu'], now: 1000 })
    const [stale] = await claimDueJobs(t.db, { owner: 'w1', limit: 1, leaseMs: 100, now: 1000 })
    const [held] = await claimDueJobs(t.db, { owner: 'w2', limit: 1, leaseMs: 60_000, now: 2000 })
    expect([stale!.id, held!.leaseOwner]).toEqual([held!.id, 'w2'])

    expect(await failJob(t.db, stale!, { error: 'x', maxAttempts: 5, backoffBaseMs: 10, backoffMaxMs: 10, now: 2500 })).toBe('lost')
    await completeJob(t.db, stale!, { size: 5, source: 'us', now: 3000 })
    expect((await jobsOf(t.db, D)).map((j) => [j.state, j.leaseOwner])).toEqual([['running', 'w2']])
    expect((await placementsOf(t.db, D)).map((p) => [p.location, p.state]).sort()).toEqual([['eu', 'present'], ['us', 'present']])

    await completeJob(t.db, held!, { size: 5, source: 'us', now: 4000 })
    expect((await jobsOf(t.db, D)).map((j) => [j.state, j.leaseOwner])).toEqual([['done', null]])
  })
})
