// Georeplication on the embedded defaults: three fs locations, worker in the origin process.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { pushImage, pushBlob, randomBytes, uniqueName } from '../helpers/registry-client.ts'
import { placementProblems, presentMap, waitForReplication } from '../helpers/replication.ts'
import { jobsOf } from '../../db/queries/replication.ts'

describe('replication to the default locations', () => {
  let origin: TestOrigin
  beforeAll(async () => { origin = await startTestOrigin() })
  afterAll(async () => { await origin?.close() })

  it('copies every blob and manifest of a pushed image to every default location, verified byte for byte', async () => {
    const name = uniqueName('repl')
    await pushImage(origin.url, name, 'v1')
    await pushBlob(origin.url, name, randomBytes(3 * 1024 * 1024 + 17))
    await waitForReplication(origin.db)
    const present = await presentMap(origin.db)
    expect(present.size).toBeGreaterThanOrEqual(4)
    for (const [digest, where] of present) expect([...where].sort(), digest).toEqual(['ap-south', 'eu-west', 'us-east'])
    expect(await placementProblems(origin.db, origin.locations)).toEqual([])
  })

  it('makes one job per blob and location however often the blob is pushed', async () => {
    const bytes = randomBytes(64 * 1024)
    const pushes = await Promise.all(Array.from({ length: 10 }, (_, i) => pushBlob(origin.url, uniqueName(`same${i}`), bytes)))
    await waitForReplication(origin.db)
    const jobs = await jobsOf(origin.db, pushes[0].digest)
    expect(jobs.map((j) => j.location).sort()).toEqual(['ap-south', 'eu-west'])
    expect(jobs.every((j) => j.state === 'done')).toBe(true)
  })

  it('writes to its own preferred location when a second origin has another preference', async () => {
    const second = await startTestOrigin({ dataDir: origin.dataDir, env: { MERIDIAN_STORAGE_PREFERENCE: 'eu-west,us-east,ap-south' } })
    try {
      const blob = await pushBlob(second.url, uniqueName('second'), randomBytes(1000))
      const jobs = await jobsOf(second.db, blob.digest)
      expect(jobs.map((j) => j.location).sort()).toEqual(['ap-south', 'us-east'])
      await waitForReplication(second.db)
      expect([...(await presentMap(second.db)).get(blob.digest)!].sort()).toEqual(['ap-south', 'eu-west', 'us-east'])
    } finally {
      await second.close()
    }
  })

  it('reports lag and backlog through the admin API and metrics', async () => {
    const lag = await (await fetch(`${origin.url}/admin/replication/lag`)).json() as { samples: number; p99Ms: number }
    expect(lag.samples).toBeGreaterThan(0)
    expect(lag.p99Ms).toBeGreaterThanOrEqual(0)
    const backlog = await (await fetch(`${origin.url}/admin/replication/backlog`)).json() as { locations: unknown[] }
    expect(Array.isArray(backlog.locations)).toBe(true)
    const metrics = await (await fetch(`${origin.url}/metrics`)).text()
    expect(metrics).toMatch(/meridian_replication_jobs_total\{location="eu-west",outcome="done"\} \d+/)
    expect(metrics).toMatch(/meridian_replication_bytes_total\{source="[a-z-]+",target="ap-south"\} [1-9]/)
    expect(metrics).toContain('meridian_replication_lag_seconds_bucket')
  })
})
