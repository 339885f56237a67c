import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import { commitBlob } from './blobs.ts'
import { changesSince } from './changes.ts'
import { markPlacementMissing, placementsOf, recordPlacement, replicationView, scheduleReplication } from './placements.ts'
import { claimDueJobs, completeJob, jobsOf } from './replication.ts'

let t: TestDatabase
beforeEach(async () => { t = await openTestDatabase('meridian-placements-') })
afterEach(async () => { await t.close() })

const D = `sha256:${'ab'.repeat(32)}`
const everywhere = () => ['us', 'eu', 'ap']

async function placementChanges(): Promise<string[]> {
  return (await changesSince(t.db, 0)).filter((c) => c.kind.startsWith('placement.')).map((c) => `${c.kind} ${String(c.payload.location)}`)
}

describe('placements', () => {
  it('announces a placement once, refreshes one already present silently, and announces it again after it went missing', async () => {
    await t.db.transaction((tx) => recordPlacement(tx, { digest: D, size: 5, location: 'us', now: 1000 }))
    await t.db.transaction((tx) => recordPlacement(tx, { digest: D, size: 5, location: 'us', now: 2000 }))
    expect(await placementChanges()).toEqual(['placement.present us'])
    expect((await placementsOf(t.db, D)).map((p) => [p.location, p.state, p.verifiedAt])).toEqual([['us', 'present', 2000]])

    await t.db.transaction((tx) => markPlacementMissing(tx, D, 'us', 3000))
    await t.db.transaction((tx) => recordPlacement(tx, { digest: D, size: 5, location: 'us', now: 4000 }))
    expect(await placementChanges()).toEqual(['placement.present us', 'placement.removed us', 'placement.present us'])
    expect((await placementsOf(t.db, D)).map((p) => [p.state, p.verifiedAt])).toEqual([['present', 4000]])
  })

  it('queues a job for each target the blob is missing from and drops queued jobs its policy no longer allows', async () => {
    await commitBlob(t.db, { repository: 'team/app', digest: D, size: 5, location: 'us', targetsFor: everywhere })
    expect((await jobsOf(t.db, D)).map((j) => [j.location, j.state]).sort()).toEqual([['ap', 'pending'], ['eu', 'pending']])
    const view = await replicationView(t.db, D)
    expect({ ...view, queued: view.queued.map((q) => q.location).sort() }).toEqual({ size: 5, present: ['us'], namespaces: ['team'], queued: ['ap', 'eu'] })

    // The namespace's policy narrowed to one other location: the other queued job goes.
    expect(await t.db.transaction((tx) => scheduleReplication(tx, D, () => ['us', 'eu']))).toBe(0)
    expect((await jobsOf(t.db, D)).map((j) => j.location)).toEqual(['eu'])
  })

  it('completes a copy: the placement is present, the job done and the blob no longer queued there', async () => {
    await commitBlob(t.db, { repository: 'team/app', digest: D, size: 5, location: 'us', targetsFor: () => ['us', 'eu'] })
    const [job] = await claimDueJobs(t.db, { owner: 'w1', limit: 4, leaseMs: 60_000 })
    await completeJob(t.db, job!, { size: 5, source: 'us', now: 5000 })
    expect((await jobsOf(t.db, D)).map((j) => [j.state, j.finishedAt, j.leaseOwner])).toEqual([['done', 5000, null]])
    expect(await replicationView(t.db, D)).toMatchObject({ present: expect.arrayContaining(['us', 'eu']), queued: [] })
    expect(await placementChanges()).toEqual(['placement.present us', 'placement.present eu'])
  })

  it('knows no size for a blob the registry does not hold', async () => {
    expect(await replicationView(t.db, D)).toEqual({ size: null, present: [], namespaces: [], queued: [] })
  })
})
