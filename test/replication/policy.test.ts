// Per-namespace policy: residency limits, extra locations, and backfill after adding a location.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { pushBlob, pushImage, randomBytes } from '../helpers/registry-client.ts'
import { fastRetries, fsLocation, placementProblems, presentMap, waitForReplication } from '../helpers/replication.ts'
import type { MeridianConfig } from '../../origin/config/types.ts'
import { reconcilePage } from '../../origin/replication/reconcile.ts'

/** us-east (preferred), eu-west, eu-central, ap-south defaults, plus a non-default archive. */
function fourRegions(c: MeridianConfig, namespaces: MeridianConfig['namespaces'] = []): MeridianConfig {
  return fastRetries({
    ...c,
    locations: [
      fsLocation(c, 'us-east', { lat: 39, lon: -77.5 }),
      fsLocation(c, 'eu-west', { lat: 53.3, lon: -6.3 }),
      fsLocation(c, 'eu-central', { lat: 50.1, lon: 8.7 }),
      fsLocation(c, 'ap-south', { lat: 19.1, lon: 72.9 }),
      fsLocation(c, 'archive', { replicateByDefault: false }),
    ],
    preference: ['us-east', 'eu-west', 'eu-central', 'ap-south'],
    namespaces,
  })
}

describe('namespace replication policy', () => {
  const started: TestOrigin[] = []
  afterEach(async () => { await Promise.all(started.splice(0).map((o) => o.close())) })
  const start = async (edit: (c: MeridianConfig) => MeridianConfig, dataDir?: string) => {
    const o = await startTestOrigin({ edit, dataDir })
    started.push(o)
    return o
  }

  it('keeps a residency-limited namespace inside its limit, from the push on', async () => {
    const origin = await start((c) => fourRegions(c, [{ namespace: 'euro', extraLocations: [], residency: ['eu-*'] }]))
    await pushImage(origin.url, 'euro/app', 'v1')
    const open = await pushBlob(origin.url, 'open/app', randomBytes(5000))
    await waitForReplication(origin.db)
    for (const [digest, where] of await presentMap(origin.db)) {
      if (digest === open.digest) continue
      expect([...where].sort(), digest).toEqual(['eu-central', 'eu-west'])
    }
    expect([...(await presentMap(origin.db)).get(open.digest)!].sort()).toEqual(['ap-south', 'eu-central', 'eu-west', 'us-east'])
  })

  it('never copies a blob shared with a residency-limited namespace outside that limit', async () => {
    const origin = await start((c) => fourRegions(c, [{ namespace: 'euro', extraLocations: [], residency: ['eu-*'] }]))
    const bytes = randomBytes(7000)
    const blob = await pushBlob(origin.url, 'euro/shared', bytes)
    // open/* pushes land in us-east (its preferred location); replication adds nothing outside eu-*.
    await pushBlob(origin.url, 'open/shared', bytes)
    await waitForReplication(origin.db)
    expect([...(await presentMap(origin.db)).get(blob.digest)!].sort()).toEqual(['eu-central', 'eu-west', 'us-east'])
  })

  it('adds a namespace\'s extra locations to the defaults', async () => {
    const origin = await start((c) => fourRegions(c, [{ namespace: 'keep', extraLocations: ['archive'], residency: null }]))
    const kept = await pushBlob(origin.url, 'keep/app', randomBytes(3000))
    const other = await pushBlob(origin.url, 'other/app', randomBytes(3000))
    await waitForReplication(origin.db)
    expect((await presentMap(origin.db)).get(kept.digest)!.has('archive')).toBe(true)
    expect((await presentMap(origin.db)).get(other.digest)!.has('archive')).toBe(false)
  })

  it('applies a policy set through the admin API, and refuses one outside its own residency', async () => {
    const origin = await start((c) => fourRegions(c))
    const blob = await pushBlob(origin.url, 'late/app', randomBytes(2000))
    await waitForReplication(origin.db)
    expect((await presentMap(origin.db)).get(blob.digest)!.has('archive')).toBe(false)
    const bad = await fetch(`${origin.url}/admin/namespaces/late/policy`, { method: 'PUT', body: JSON.stringify({ extraLocations: ['archive'], residency: ['eu-*'] }) })
    expect(bad.status).toBe(400)
    const ok = await fetch(`${origin.url}/admin/namespaces/late/policy`, { method: 'PUT', body: JSON.stringify({ extraLocations: ['archive'] }) })
    expect(ok.status).toBe(200)
    // The reconciler notices the blob falls short of the new policy (interval 1 s in these tests).
    await expect.poll(async () => (await presentMap(origin.db)).get(blob.digest)!.has('archive'), { timeout: 10_000 }).toBe(true)
  })

  it('backfills everything already stored when a location is added', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-backfill-'))
    const first = await start((c) => fourRegions(c), dataDir)
    await pushImage(first.url, 'back/app', 'v1')
    await waitForReplication(first.db)
    await started.pop()!.close()
    // Restart on the same data with a fifth default location.
    const second = await start((c) => {
      const base = fourRegions(c)
      return { ...base, locations: [...base.locations, fsLocation(base, 'sa-east', { lat: -23.5, lon: -46.6 })] }
    }, dataDir)
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }))
    const dry = await reconcilePage(second.db, second.policy.targetsFor, { dryRun: true, limit: 1000 })
    expect(dry.jobs).toBeGreaterThanOrEqual(3)
    await expect.poll(async () => [...(await presentMap(second.db)).values()].every((w) => w.has('sa-east')), { timeout: 15_000 }).toBe(true)
    await waitForReplication(second.db)
    expect(await placementProblems(second.db, second.locations)).toEqual([])
  })
})
