// Replication under failure: a target that is down and comes back, a target that never works
// (dead letter, retry through the API).

import { createServer } from 'node:net'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { startS3rver, S3RVER_CLIENT, type RunningS3rver } from '../helpers/s3rver.ts'
import { pushBlob, pushImage, randomBytes, uniqueName } from '../helpers/registry-client.ts'
import { fastRetries, fsLocation, placementProblems, presentMap, waitForReplication } from '../helpers/replication.ts'
import { jobsOf } from '../../db/queries/replication.ts'
import { replicationJobs } from '../../db/schema.ts'
import { markPlacementMissing } from '../../db/queries/placements.ts'
import type { MeridianConfig } from '../../origin/config/types.ts'

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  await new Promise((r) => server.close(r))
  return port
}

function withRemote(c: MeridianConfig, endpoint: string, bucket: string, retries: Partial<MeridianConfig['replication']>): MeridianConfig {
  return fastRetries({
    ...c,
    locations: [
      fsLocation(c, 'local', { lat: 39, lon: -77.5 }),
      { id: 'remote', driver: 's3', params: { bucket, endpoint, region: S3RVER_CLIENT.region, forcePathStyle: true, ...S3RVER_CLIENT.credentials }, lat: 50, lon: 8, replicateByDefault: true, serve: 'redirect', readOnly: false },
    ],
    preference: ['local'],
  }, retries)
}

describe('replication faults', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

  it('retries while the target location is down and succeeds when it is back', async () => {
    const port = await freePort()
    const origin: TestOrigin = await startTestOrigin({ edit: (c) => withRemote(c, `http://127.0.0.1:${port}`, 'meridian', { maxAttempts: 1000 }) })
    cleanups.push(() => origin.close())
    const blob = await pushBlob(origin.url, uniqueName('down'), randomBytes(200_000))
    await expect.poll(async () => (await jobsOf(origin.db, blob.digest))[0]?.attempts ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(2)
    const job = (await jobsOf(origin.db, blob.digest))[0]
    expect(job.state).not.toBe('done')
    expect(job.lastError).toBeTruthy()
    const s3: RunningS3rver = await startS3rver({ buckets: ['meridian'], port })
    cleanups.push(() => s3.stop())
    await waitForReplication(origin.db, { timeoutMs: 20_000 })
    expect([...(await presentMap(origin.db)).get(blob.digest)!].sort()).toEqual(['local', 'remote'])
    expect(await placementProblems(origin.db, origin.locations)).toEqual([])
  })

  it('pushes to the next location when the preferred one is down, and says so in the metrics', async () => {
    const port = await freePort()
    const origin = await startTestOrigin({
      edit: (c) => ({ ...withRemote(c, `http://127.0.0.1:${port}`, 'meridian', { maxAttempts: 1000 }), preference: ['remote', 'local'] }),
    })
    cleanups.push(() => origin.close())
    const manifest = await pushImage(origin.url, uniqueName('fallback'), 'v1')
    const where = await presentMap(origin.db)
    expect([...where.get(manifest.digest)!]).toEqual(['local'])
    for (const locations of where.values()) expect([...locations]).toEqual(['local'])
    const metrics = await (await fetch(`${origin.url}/metrics`)).text()
    expect(metrics).toMatch(/meridian_push_fallback_total\{preferred="remote",used="local"\} [1-9]/)
    expect(metrics).toMatch(/meridian_location_up\{location="remote"\} 0/)
    // When the preferred location is back, replication fills it.
    const s3 = await startS3rver({ buckets: ['meridian'], port })
    cleanups.push(() => s3.stop())
    await waitForReplication(origin.db, { timeoutMs: 20_000 })
    expect([...(await presentMap(origin.db)).get(manifest.digest)!].sort()).toEqual(['local', 'remote'])
  })

  it('dead-letters a job that keeps failing, shows it in the API, and retries it on request', async () => {
    const s3 = await startS3rver({ buckets: ['meridian'] })
    cleanups.push(() => s3.stop())
    // The bucket does not exist: every attempt fails.
    const origin = await startTestOrigin({ edit: (c) => withRemote(c, s3.endpoint, 'no-such-bucket', { maxAttempts: 3 }) })
    cleanups.push(() => origin.close())
    const blob = await pushBlob(origin.url, uniqueName('dead'), randomBytes(1000))
    await expect.poll(async () => (await jobsOf(origin.db, blob.digest))[0]?.state, { timeout: 10_000 }).toBe('dead')
    const dead = await (await fetch(`${origin.url}/admin/replication/dead`)).json() as { jobs: Array<{ digest: string; attempts: number; lastError: string }> }
    const letter = dead.jobs.find((j) => j.digest === blob.digest)!
    expect(letter.attempts).toBe(3)
    expect(letter.lastError).toMatch(/remote/)
    const metrics = await (await fetch(`${origin.url}/metrics`)).text()
    expect(metrics).toMatch(/meridian_replication_queue_depth\{location="remote",state="dead"\} 1/)
    const retry = await fetch(`${origin.url}/admin/replication/dead/retry`, { method: 'POST', body: '{}' })
    expect(await retry.json()).toEqual({ retried: 1 })
    // It fails again (the bucket is still missing) and lands back in the dead letters.
    await expect.poll(async () => (await jobsOf(origin.db, blob.digest))[0]?.attempts, { timeout: 10_000 }).toBe(3)
    expect((await jobsOf(origin.db, blob.digest))[0].state).toBe('dead')
  })
})

describe('placements that lie', () => {
  it('notices bytes missing on a read, serves another copy, and has the worker copy them back', async () => {
    const origin = await startTestOrigin()
    try {
      const name = uniqueName('lost')
      const bytes = randomBytes(300_000)
      const blob = await pushBlob(origin.url, name, bytes)
      await waitForReplication(origin.db)
      // Someone deletes the file in the location reads try first.
      const hex = blob.digest.slice('sha256:'.length)
      rmSync(join(origin.dataDir, 'locations', 'us-east', 'blobs', 'sha256', hex.slice(0, 2), hex))
      const res = await fetch(`${origin.url}/v2/${name}/blobs/${blob.digest}`)
      expect(res.status).toBe(200)
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true)
      await expect.poll(async () => (await presentMap(origin.db)).get(blob.digest)?.has('us-east'), { timeout: 10_000 }).toBe(true)
      await waitForReplication(origin.db)
      expect(await placementProblems(origin.db, origin.locations)).toEqual([])
    } finally {
      await origin.close()
    }
  })

  it('never spreads a corrupt copy: the copy from it is refused unpublished, and the next holder serves', async () => {
    const origin = await startTestOrigin()
    try {
      const bytes = randomBytes(300_000)
      const blob = await pushBlob(origin.url, uniqueName('rotten'), bytes)
      await waitForReplication(origin.db)
      const hex = blob.digest.slice('sha256:'.length)
      const file = (location: string) => join(origin.dataDir, 'locations', location, 'blobs', 'sha256', hex.slice(0, 2), hex)
      // eu-west's bytes rot (same size, one byte flipped), and ap-south loses its copy: eu-west is
      // the nearer holder to ap-south, so the copy is tried from it first.
      const rotten = Buffer.from(bytes)
      rotten[1234] ^= 0xff
      writeFileSync(file('eu-west'), rotten)
      rmSync(file('ap-south'))
      await markPlacementMissing(origin.db, blob.digest, 'ap-south')
      const now = Date.now()
      await origin.db.insert(replicationJobs).values({ digest: blob.digest, location: 'ap-south', state: 'pending', attempts: 0, dueAt: now, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: [replicationJobs.digest, replicationJobs.location], set: { state: 'pending', dueAt: now } }).run()
      origin.worker!.wake()
      await expect.poll(async () => (await jobsOf(origin.db, blob.digest)).find((j) => j.location === 'ap-south')?.state, { timeout: 10_000 }).toBe('done')
      expect((await jobsOf(origin.db, blob.digest)).find((j) => j.location === 'ap-south')!.sourceLocation).toBe('us-east')
      expect(readFileSync(file('ap-south')).equals(Buffer.from(bytes))).toBe(true)
      // No present placement names bytes that do not match: eu-west's rot was found and marked.
      expect((await presentMap(origin.db)).get(blob.digest)!.has('ap-south')).toBe(true)
      expect(await placementProblems(origin.db, origin.locations)).toEqual([])
    } finally {
      await origin.close()
    }
  })

  it('completes a job whose target already holds the blob, without touching its bytes', async () => {
    const origin = await startTestOrigin()
    try {
      const blob = await pushBlob(origin.url, uniqueName('held'), randomBytes(5000))
      await waitForReplication(origin.db)
      // eu-west is the only holder the database knows of, and a job asks to copy it there.
      for (const other of ['us-east', 'ap-south']) await markPlacementMissing(origin.db, blob.digest, other)
      const now = Date.now()
      await origin.db.insert(replicationJobs).values({ digest: blob.digest, location: 'eu-west', state: 'pending', attempts: 0, dueAt: now, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: [replicationJobs.digest, replicationJobs.location], set: { state: 'pending', dueAt: now } }).run()
      origin.worker!.wake()
      await waitForReplication(origin.db)
      expect((await jobsOf(origin.db, blob.digest)).find((j) => j.location === 'eu-west')!.state).toBe('done')
      expect((await presentMap(origin.db)).get(blob.digest)!.has('eu-west')).toBe(true)
      expect(await placementProblems(origin.db, origin.locations)).toEqual([])
    } finally {
      await origin.close()
    }
  })
})
