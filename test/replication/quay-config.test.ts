// Migration from Quay: an origin started from a Quay config.yaml (S3 via RadosGWStorage on
// s3rver, LocalStorage on disk) takes pushes and replicates them as Quay's settings say.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.ts'
import { pushImage, uniqueName } from '../helpers/registry-client.ts'
import { placementProblems, presentMap, waitForReplication } from '../helpers/replication.ts'

describe('an origin on a Quay config.yaml', () => {
  let dir: string
  let s3: RunningS3rver
  let origin: TestOrigin
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-quay-'))
    s3 = await startS3rver({ buckets: ['quay'] })
    const port = new URL(s3.endpoint).port
    const config = join(dir, 'config.yaml')
    writeFileSync(config, stringify({
      SERVER_HOSTNAME: 'quay.example.com',
      FEATURE_STORAGE_REPLICATION: true,
      DISTRIBUTED_STORAGE_CONFIG: {
        local_us: ['LocalStorage', { storage_path: join(dir, 'local-us') }],
        ceph_eu: ['RadosGWStorage', { hostname: '127.0.0.1', port: Number(port), is_secure: false, access_key: 'S3RVER', secret_key: 'S3RVER', bucket_name: 'quay', storage_path: '/registry' }],
      },
      DISTRIBUTED_STORAGE_PREFERENCE: ['local_us', 'ceph_eu'],
      DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: ['local_us', 'ceph_eu'],
      MERIDIAN_LOCATIONS: { local_us: { lat: 39, lon: -77.5 }, ceph_eu: { lat: 48.1, lon: 11.6 } },
    }))
    origin = await startTestOrigin({ env: { MERIDIAN_CONFIG: config } })
  })
  afterAll(async () => {
    await origin?.close()
    await s3?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('maps the engines and replicates a push to both default locations', async () => {
    expect(origin.config.locations.map((l) => `${l.id}:${l.driver}`).sort()).toEqual(['ceph_eu:s3', 'local_us:fs'])
    const manifest = await pushImage(origin.url, uniqueName('quay'), 'v1')
    await waitForReplication(origin.db)
    expect([...(await presentMap(origin.db)).get(manifest.digest)!].sort()).toEqual(['ceph_eu', 'local_us'])
    expect(await placementProblems(origin.db, origin.locations)).toEqual([])
  })
})
