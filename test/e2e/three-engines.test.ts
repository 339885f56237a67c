// Georeplication end to end on three different engines: local disk, S3 (s3rver) and Azure Blob
// (azurite), pushed and pulled with skopeo.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BlobServiceClient } from '@azure/storage-blob'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { startS3rver, S3RVER_CLIENT, type RunningS3rver } from '../helpers/s3rver.ts'
import { startAzurite } from '../helpers/azurite.ts'
import { writeImageLayout, readRef } from '../helpers/oci-layout.ts'
import { skopeo, dockerRef, PUSH_FLAGS, PULL_FLAGS } from '../helpers/skopeo.ts'
import { placementProblems, presentMap, waitForReplication } from '../helpers/replication.ts'
import { jobsOf } from '../../db/queries/replication.ts'
import type { LocationConfig, MeridianConfig } from '../../origin/config/types.ts'

const MiB = 1024 * 1024

describe('three locations on three engines', () => {
  let s3: RunningS3rver
  let azurite: Awaited<ReturnType<typeof startAzurite>>
  let work: string
  let dataDir: string
  let origin: TestOrigin
  let locations: (c: MeridianConfig) => LocationConfig[]

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'meridian-3eng-'))
    dataDir = join(work, 'data')
    s3 = await startS3rver({ buckets: ['meridian-eu'] })
    azurite = await startAzurite()
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('meridian-ap').createIfNotExists()
    locations = (c) => [
      { id: 'us-fs', driver: 'fs', params: { root: join(c.dataDir, 'us-fs') }, lat: 39, lon: -77.5, replicateByDefault: true, serve: 'proxy', readOnly: false },
      { id: 'eu-s3', driver: 's3', params: { bucket: 'meridian-eu', endpoint: s3.endpoint, region: S3RVER_CLIENT.region, forcePathStyle: true, ...S3RVER_CLIENT.credentials }, lat: 50.1, lon: 8.7, replicateByDefault: true, serve: 'redirect', readOnly: false },
      { id: 'ap-azure', driver: 'azure', params: { container: 'meridian-ap', connectionString: azurite.connectionString }, lat: 19.1, lon: 72.9, replicateByDefault: true, serve: 'redirect', readOnly: false },
    ]
    origin = await startTestOrigin({ dataDir, edit: (c) => ({ ...c, locations: locations(c), preference: ['us-fs', 'eu-s3', 'ap-azure'] }) })
  })
  afterAll(async () => {
    await origin?.close()
    await azurite?.stop()
    await s3?.stop()
    rmSync(work, { recursive: true, force: true })
  })

  it('replicates every blob of a skopeo push to every default location, verified byte for byte', async () => {
    const layout = join(work, 'push')
    const image = await writeImageLayout(layout, { layers: [5, 300_000, 9 * MiB + 3], tag: 'v1' })
    await skopeo(['copy', ...PUSH_FLAGS, `oci:${layout}:v1`, dockerRef(origin.url, 'geo/app', 'v1')])
    await waitForReplication(origin.db, { timeoutMs: 60_000 })
    const present = await presentMap(origin.db)
    for (const d of [image.manifest, image.config, ...image.layers]) {
      expect([...(present.get(d.digest) ?? [])].sort(), d.digest).toEqual(['ap-azure', 'eu-s3', 'us-fs'])
    }
    expect(await placementProblems(origin.db, origin.locations)).toEqual([])
  })

  it('a second origin instance with another preference writes to its own preferred location', async () => {
    const second = await startTestOrigin({ dataDir, edit: (c) => ({ ...c, locations: locations(c), preference: ['eu-s3', 'us-fs', 'ap-azure'] }) })
    try {
      const layout = join(work, 'push2')
      const image = await writeImageLayout(layout, { layers: [1234, 2 * MiB], tag: 'v2' })
      await skopeo(['copy', ...PUSH_FLAGS, `oci:${layout}:v2`, dockerRef(second.url, 'geo/app', 'v2')])
      for (const layer of image.layers) {
        expect((await jobsOf(second.db, layer.digest)).map((j) => j.location).sort()).toEqual(['ap-azure', 'us-fs'])
      }
      await waitForReplication(second.db, { timeoutMs: 60_000 })
      // Pulled back through the first origin, every digest is the same.
      const pulled = join(work, 'pull2')
      await skopeo(['copy', ...PULL_FLAGS, dockerRef(origin.url, 'geo/app', 'v2'), `oci:${pulled}:v2`])
      expect(readRef(pulled, 'v2')?.digest).toBe(image.manifest.digest)
      expect(await placementProblems(second.db, second.locations)).toEqual([])
    } finally {
      await second.close()
    }
  })
})
