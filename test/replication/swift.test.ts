// Georeplication with OpenStack Swift as one of two locations, from a Quay config.yaml
// (LocalStorage + SwiftStorage with tempauth and a temp URL key): a push lands on disk, is
// replicated to Swift and verified there byte for byte, served by temp URLs (an edge redirects to
// them), and pulled back through an origin that prefers Swift.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { blobKey } from '../../storage/keys.ts'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { bytesOf, pushBlob, pushManifest, imageManifest, randomBytes, sha256, uniqueName, utf8 } from '../helpers/registry-client.ts'
import { placementProblems, presentMap, waitForReplication } from '../helpers/replication.ts'
import { startSwift, swiftUnavailable, type RunningSwift } from '../helpers/swift.ts'
import { startTestEdge } from '../helpers/edge.ts'

const MiB = 1024 * 1024
const TEMP_URL_KEY = 'replication-temp-url-key'
const unavailable = swiftUnavailable()
if (unavailable) console.warn(`skipping the Swift replication test: ${unavailable}`)

describe.skipIf(unavailable !== null)('replication to a Swift location configured from a Quay config.yaml', () => {
  let dir: string
  let swift: RunningSwift
  let origin: TestOrigin
  let name: string
  let pushed: Array<{ digest: string; size: number }>

  function writeConfig(name: string, preference: string[]): string {
    const path = join(dir, name)
    writeFileSync(path, stringify({
      SERVER_HOSTNAME: 'quay.example.com',
      FEATURE_STORAGE_REPLICATION: true,
      DISTRIBUTED_STORAGE_CONFIG: {
        local_us: ['LocalStorage', { storage_path: join(dir, 'local-us') }],
        swift_eu: ['SwiftStorage', {
          auth_version: 1, auth_url: swift.authUrl, swift_user: swift.user, swift_password: swift.key,
          swift_container: 'quay', storage_path: '/datastorage/registry', temp_url_key: TEMP_URL_KEY,
        }],
      },
      DISTRIBUTED_STORAGE_PREFERENCE: preference,
      DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: ['local_us', 'swift_eu'],
      // Small segments, so the 12 MiB layer is a Static Large Object in Swift.
      MERIDIAN_LOCATIONS: { local_us: { lat: 39, lon: -77.5 }, swift_eu: { lat: 50.1, lon: 8.7, serve: 'redirect', params: { segmentSize: 4 * MiB } } },
    }))
    return path
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-swift-repl-'))
    swift = await startSwift({ containers: ['quay'], tempUrlKey: TEMP_URL_KEY })
    origin = await startTestOrigin({ dataDir: join(dir, 'data'), env: { MERIDIAN_CONFIG: writeConfig('config.yaml', ['local_us', 'swift_eu']) } })
  }, 90_000)
  afterAll(async () => {
    await origin?.close()
    await swift?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('replicates a push from disk to Swift, verified byte for byte, and pulls it back through an origin preferring Swift', async () => {
    expect(origin.config.locations.map((l) => `${l.id}:${l.driver}`).sort()).toEqual(['local_us:fs', 'swift_eu:swift'])
    name = uniqueName('swift')
    const config = await pushBlob(origin.url, name, utf8(JSON.stringify({ architecture: 'amd64', os: 'linux' })), 'application/vnd.oci.image.config.v1+json')
    const big = randomBytes(12 * MiB + 5)
    const layers = [await pushBlob(origin.url, name, randomBytes(1000)), await pushBlob(origin.url, name, big)]
    const manifest = await pushManifest(origin.url, name, 'v1', imageManifest(config, layers))
    pushed = [config, ...layers]

    await waitForReplication(origin.db, { timeoutMs: 60_000 })
    const present = await presentMap(origin.db)
    for (const d of [manifest, config, ...layers]) expect([...(present.get(d.digest) ?? [])].sort(), d.digest).toEqual(['local_us', 'swift_eu'])
    expect(await placementProblems(origin.db, origin.locations)).toEqual([])

    // In Swift under Quay's storage_path; the large layer as segments in quay_segments.
    const token = await swift.token()
    const listing = await fetch(`${swift.storageUrl}/quay?format=json&prefix=datastorage/registry/blobs/`, { headers: { 'X-Auth-Token': token } })
    expect((await listing.json() as unknown[]).length).toBe(4)
    const segments = await fetch(`${swift.storageUrl}/quay_segments?format=json`, { headers: { 'X-Auth-Token': token } })
    expect((await segments.json() as unknown[]).length).toBe(4)

    // Temp URLs of the Swift location serve the bytes (what an edge redirects to).
    const url = await origin.locations.get('swift_eu')!.engine.presign!(blobKey(layers[1]!.digest), { expiresIn: 60 })
    expect(url).toContain('temp_url_sig=')
    expect(sha256(await bytesOf(await fetch(url!)))).toBe(layers[1]!.digest)

    const second = await startTestOrigin({ dataDir: join(dir, 'data'), env: { MERIDIAN_CONFIG: writeConfig('swift-first.yaml', ['swift_eu', 'local_us']) } })
    try {
      // Nothing left on disk: whatever the second origin serves comes from Swift.
      rmSync(join(dir, 'local-us', 'blobs'), { recursive: true, force: true })
      const got = await fetch(`${second.url}/v2/${name}/manifests/v1`, { headers: { Accept: manifest.mediaType } })
      expect(got.status).toBe(200)
      expect(sha256(await bytesOf(got))).toBe(manifest.digest)
      for (const d of [config, ...layers]) {
        const blob = await fetch(`${second.url}/v2/${name}/blobs/${d.digest}`)
        expect(blob.status, d.digest).toBe(200)
        expect(sha256(await bytesOf(blob))).toBe(d.digest)
      }
      const ranged = await fetch(`${second.url}/v2/${name}/blobs/${layers[1]!.digest}`, { headers: { Range: `bytes=${4 * MiB - 2}-${4 * MiB + 1}` } })
      expect(ranged.status).toBe(206)
      expect(await bytesOf(ranged)).toEqual(big.subarray(4 * MiB - 2, 4 * MiB + 2))
    } finally {
      await second.close()
    }
  }, 120_000)

  it('redirects pulls at an edge to Swift temp URLs, with only the key and storage URL in its config', async () => {
    const edge = await startTestEdge(origin, {
      // What an operator adds to the edge's copy: edgeConfigFor leaves the credentials and the key out.
      editConfig: (doc) => ({
        ...doc,
        locations: (doc.locations as Array<Record<string, any>>).map((l) => {
          if (l.id !== 'swift_eu') return l
          expect(l.params).not.toHaveProperty('password')
          expect(l.params).not.toHaveProperty('tempUrlKey')
          return { ...l, params: { ...l.params, tempUrlKey: TEMP_URL_KEY, storageUrl: swift.storageUrl } }
        }),
      }),
    })
    try {
      await edge.settle()
      for (const d of pushed) {
        const res = await fetch(`${edge.url}/v2/${name}/blobs/${d.digest}`, { redirect: 'manual' })
        expect(res.status, d.digest).toBe(307)
        expect(res.headers.get('meridian-served-from')).toBe('swift_eu')
        const location = res.headers.get('location')!
        expect(location.startsWith(`${swift.storageUrl}/quay/datastorage/registry/blobs/`)).toBe(true)
        expect(sha256(await bytesOf(await fetch(location)))).toBe(d.digest)
      }
    } finally {
      await edge.close()
    }
  }, 60_000)
})

describe.skipIf(unavailable !== null)('replication between two Swift locations of one cluster', () => {
  let swift: RunningSwift
  let origin: TestOrigin
  const replicated: Array<Record<string, unknown>> = []
  const log = { debug() {}, info(message: string, fields?: Record<string, unknown>) {
    if (message === 'replicated') replicated.push(fields ?? {})
  }, warn() {}, error() {} }

  beforeAll(async () => {
    swift = await startSwift({ containers: ['repl-a', 'repl-b'] })
    const params = (container: string) => ({ container, authUrl: swift.authUrl, authVersion: 1, user: swift.user, password: swift.key, segmentSize: 4 * MiB })
    origin = await startTestOrigin({
      log,
      edit: (c) => ({
        ...c,
        locations: [
          { id: 'swift_a', driver: 'swift', params: params('repl-a'), lat: 50.1, lon: 8.7, replicateByDefault: true, serve: 'proxy', readOnly: false },
          { id: 'swift_b', driver: 'swift', params: params('repl-b'), lat: 48.1, lon: 11.6, replicateByDefault: true, serve: 'proxy', readOnly: false },
        ],
        preference: ['swift_a', 'swift_b'],
      }),
    })
  }, 90_000)
  afterAll(async () => {
    await origin?.close()
    await swift?.stop()
  })

  it('copies server-side (X-Copy-From; segment by segment for a large layer), verified by reading back', async () => {
    const name = uniqueName('swift2')
    const config = await pushBlob(origin.url, name, utf8('{"architecture":"amd64","os":"linux"}'), 'application/vnd.oci.image.config.v1+json')
    const layer = await pushBlob(origin.url, name, randomBytes(9 * MiB + 1))
    const manifest = await pushManifest(origin.url, name, 'v1', imageManifest(config, [layer]))
    await waitForReplication(origin.db, { timeoutMs: 60_000 })
    for (const d of [config, layer, manifest]) {
      expect([...((await presentMap(origin.db)).get(d.digest) ?? [])].sort()).toEqual(['swift_a', 'swift_b'])
      expect(replicated.find((r) => r.digest === d.digest)).toMatchObject({ target: 'swift_b', source: 'swift_a', serverSide: true })
    }
    expect(await placementProblems(origin.db, origin.locations)).toEqual([])
  }, 120_000)
})
