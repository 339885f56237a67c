// The edge inside real workerd (`wrangler dev`, edge/entry/workers.ts) serving from cloud
// locations: an S3 location (s3rver) it redirects to with a URL the AWS SDK presigned inside the
// Worker, and an Azure Blob location (azurite) it proxies, reading through the Azure SDK in the
// Worker, Range included. The client is placed by `request.cf` (wrangler's MF-CF-Blob header).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { get } from 'node:http'
import { Readable } from 'node:stream'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { startS3rver, S3RVER_CLIENT, type RunningS3rver } from '../helpers/s3rver.ts'
import { startAzurite, type RunningAzurite } from '../helpers/azurite.ts'
import { runtimeTestsEnabled, startRuntimeEdge, type RuntimeEdge } from '../helpers/runtime-edge.ts'
import { waitForReplication } from '../helpers/replication.ts'
import { at, bytesOf, pushBlob, randomBytes, uniqueName } from '../helpers/registry-client.ts'

const FRANKFURT = { lat: 50.1, lon: 8.7 }
const MUMBAI = { lat: 19.1, lon: 72.9 }
const placedAt = (p: { lat: number; lon: number }) => ({ 'MF-CF-Blob': JSON.stringify({ latitude: String(p.lat), longitude: String(p.lon) }) })

/**
 * A GET to the edge on a connection of its own (redirects not followed). workerd closes a
 * connection idle for 5 s without a Keep-Alive hint, and fetch keeps one idle for 4 s by a coarse
 * timer: on a busy machine, a request after a slow one (the 2 MiB read) went out on a pooled
 * connection workerd was closing ("other side closed").
 */
function edgeGet(url: string, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    get(url, { headers, agent: false }, (res) => {
      const head = new Headers()
      for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) head.set(name, String(value))
      const body = res.statusCode === 204 || res.statusCode === 304 ? null : Readable.toWeb(res) as ReadableStream<Uint8Array>
      resolve(new Response(body, { status: res.statusCode, headers: head }))
    }).on('error', reject)
  })
}

describe.skipIf(!runtimeTestsEnabled)('edge on workerd with S3 and Azure locations (MERIDIAN_EDGE_RUNTIMES=0 skips)', () => {
  let work: string
  let s3: RunningS3rver
  let azurite: RunningAzurite
  let origin: TestOrigin
  let edge: RuntimeEdge
  const token = `edge-token-${crypto.randomUUID()}`

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'meridian-workerd-cloud-'))
    s3 = await startS3rver({ buckets: ['meridian-eu'] })
    azurite = await startAzurite({ containers: ['meridian-ap'] })
    const s3Params = { bucket: 'meridian-eu', endpoint: s3.endpoint, region: S3RVER_CLIENT.region, forcePathStyle: true }
    const azureParams = { container: 'meridian-ap' }
    origin = await startTestOrigin({
      dataDir: join(work, 'data'),
      env: { MERIDIAN_EDGE_TOKEN: token },
      edit: (c) => ({
        ...c, preference: ['us-fs'],
        locations: [
          // The origin's own disk, with no public URL: not in the edge's config, so a blob the edge
          // serves must come from the cloud locations.
          { id: 'us-fs', driver: 'fs', params: { root: join(c.dataDir, 'us-fs') }, lat: 39, lon: -77.5, replicateByDefault: true, serve: 'proxy', readOnly: false },
          { id: 'eu-s3', driver: 's3', params: { ...s3Params, ...S3RVER_CLIENT.credentials }, ...FRANKFURT, replicateByDefault: true, serve: 'redirect', readOnly: false },
          { id: 'ap-azure', driver: 'azure', params: { ...azureParams, connectionString: azurite.connectionString }, ...MUMBAI, replicateByDefault: true, serve: 'proxy', readOnly: false },
        ],
      }),
    })
    // The edge config carries no storage secrets (origin/edge-config.ts): an operator adds the
    // edge's own read credentials to its copy, as here.
    edge = await startRuntimeEdge('workerd', origin, {
      token, home: FRANKFURT,
      editConfig: (config) => ({
        ...config, adminToken: 'debug-admin',
        locations: (config.locations as Array<Record<string, unknown>>).map((l) =>
          l.id === 'eu-s3' ? { ...l, params: { ...(l.params as object), ...S3RVER_CLIENT.credentials } }
            : l.id === 'ap-azure' ? { ...l, params: { ...(l.params as object), connectionString: azurite.connectionString } }
              : l),
      }),
    })
  }, 180_000)
  afterAll(async () => {
    await edge?.close()
    await origin?.close()
    await azurite?.stop()
    await s3?.stop()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('redirects a client in Frankfurt to a URL presigned for the S3 location, which serves the bytes', async () => {
    const name = uniqueName('workerd-s3')
    const bytes = randomBytes(300_000)
    const blob = await pushBlob(origin.url, name, bytes)
    await waitForReplication(origin.db, { timeoutMs: 60_000 })
    await edge.settle()
    const res = await edgeGet(at(edge.url, `/v2/${name}/blobs/${blob.digest}`), placedAt(FRANKFURT))
    await res.body?.cancel()
    expect(res.status).toBe(307)
    expect(res.headers.get('meridian-served-from')).toBe('eu-s3')
    const location = new URL(res.headers.get('location')!)
    expect(location.origin).toBe(new URL(s3.endpoint).origin)
    expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/)
    const followed = await fetch(location)
    expect(followed.status).toBe(200)
    expect(await bytesOf(followed)).toEqual(bytes)
  })

  it('proxies the Azure location to a client in Mumbai, whole and by Range', async () => {
    const name = uniqueName('workerd-azure')
    const bytes = randomBytes(2 * 1024 * 1024 + 17)
    const blob = await pushBlob(origin.url, name, bytes)
    await waitForReplication(origin.db, { timeoutMs: 60_000 })
    await edge.settle()
    const whole = await edgeGet(at(edge.url, `/v2/${name}/blobs/${blob.digest}`), placedAt(MUMBAI))
    // Status and source together, so a redirect or a fallback to the origin shows which.
    expect({ status: whole.status, from: whole.headers.get('meridian-served-from'), location: whole.headers.get('location') })
      .toEqual({ status: 200, from: 'ap-azure', location: null })
    expect(await bytesOf(whole)).toEqual(bytes)
    const part = await edgeGet(at(edge.url, `/v2/${name}/blobs/${blob.digest}`), { ...placedAt(MUMBAI), Range: 'bytes=1000-1999' })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${bytes.byteLength}`)
    expect(await bytesOf(part)).toEqual(bytes.subarray(1000, 2000))
  })
})
