// How a Node edge serves: blobs redirected to (or proxied from) only the locations its index lists,
// HEAD from the index, a failing location skipped for the next and then the origin, client
// networks that must be proxied, misses and writes handed to the origin, and its own endpoints.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedirectingOrigin, startTestEdge, freePort, type TestEdge } from '../helpers/edge.ts'
import type { TestOrigin } from '../helpers/origin.ts'
import { at, bytesOf, expectOciError, imageManifest, pushBlob, pushImageBlobs, pushManifest, randomBytes, uniqueName } from '../helpers/registry-client.ts'

const ADMIN = 'edge-admin-token-for-tests'
let origin: TestOrigin
const name = uniqueName('edge')
const bytes = randomBytes(10_000)
let digest: string

beforeAll(async () => {
  // No replication: every blob is in us-east only, the first location of the preference.
  origin = await startRedirectingOrigin({ edit: (c) => ({ ...c, replication: { ...c.replication, enabled: false } }) })
  digest = (await pushBlob(origin.url, name, bytes)).digest
})
afterAll(() => origin?.close())

describe('an edge whose locations redirect', () => {
  let edge: TestEdge
  beforeAll(async () => {
    edge = await startTestEdge(origin, { adminToken: ADMIN })
    await edge.settle()
  })
  afterAll(() => edge?.close())

  it('redirects a blob GET (307) to a short-lived signed URL of the one location holding it, never elsewhere', async () => {
    const res = await fetch(at(edge.url, `/v2/${name}/blobs/${digest}`), { redirect: 'manual' })
    expect(res.status).toBe(307)
    expect(res.headers.get('meridian-served-from')).toBe('us-east')
    expect(res.headers.get('meridian-geo-source')).toBe('home')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const location = new URL(res.headers.get('location')!)
    expect(location.origin).toBe(origin.url)
    expect(location.pathname).toBe(`/_meridian/blobs/us-east/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`)
    const expires = Number(location.searchParams.get('expires'))
    expect(expires * 1000 - Date.now()).toBeGreaterThan(19 * 60_000)
    expect(expires * 1000 - Date.now()).toBeLessThanOrEqual(20 * 60_000 + 1000)
    expect(await bytesOf(await fetch(location))).toEqual(bytes)
  })

  it('answers HEAD from its index: 200 with size and digest, no redirect', async () => {
    const res = await fetch(at(edge.url, `/v2/${name}/blobs/${digest}`), { method: 'HEAD', redirect: 'manual' })
    expect(res.status).toBe(200)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('content-length')).toBe(String(bytes.byteLength))
  })

  it('passes writes to the origin, with upload Locations absolute on the origin', async () => {
    const post = await fetch(at(edge.url, `/v2/${name}/blobs/uploads/`), { method: 'POST' })
    expect(post.status).toBe(202)
    expect(post.headers.get('location')!.startsWith(`${origin.url}/v2/${name}/blobs/uploads/`)).toBe(true)
    await post.body?.cancel()
    const layer = await pushBlob(edge.url, name, randomBytes(3000))
    const { config } = await pushImageBlobs(edge.url, name, { layers: 0 })
    const pushed = await pushManifest(edge.url, name, 'via-edge', imageManifest(config, [layer]))
    const back = await fetch(at(origin.url, `/v2/${name}/manifests/via-edge`), { method: 'HEAD' })
    expect(back.headers.get('docker-content-digest')).toBe(pushed.digest)
    await edge.settle()
    expect((await fetch(at(edge.url, `/v2/${name}/manifests/via-edge`), { method: 'HEAD' })).headers.get('docker-content-digest')).toBe(pushed.digest)
  })

  it('explains its choice to an admin only', async () => {
    expect((await fetch(at(edge.url, `/_meridian/edge/route/${name}/blobs/${digest}`))).status).toBe(404)
    const res = await fetch(at(edge.url, `/_meridian/edge/route/${name}/blobs/${digest}`), { headers: { Authorization: `Bearer ${ADMIN}` } })
    expect(res.status).toBe(200)
    const body = await res.json() as { present: string[]; order: Array<{ location: string; how: string }>; client: { source: string } }
    expect(body.present).toEqual(['us-east'])
    expect(body.order).toEqual([expect.objectContaining({ location: 'us-east', how: 'redirect' })])
    expect(body.client.source).toBe('home')
  })

  it('reports its index position and lag in status and metrics', async () => {
    const status = await (await fetch(at(edge.url, '/_meridian/edge/status'))).json() as { index: { position: number; lagSeconds: number; ready: boolean } }
    expect(status.index.ready).toBe(true)
    expect(status.index.position).toBeGreaterThan(0)
    const metrics = await (await fetch(at(edge.url, '/metrics'))).text()
    expect(metrics).toMatch(/^meridian_edge_index_lag_seconds \d+(\.\d+)?$/m)
    expect(metrics).toMatch(/^meridian_edge_blob_served_total\{location="us-east",how="redirect"\} [1-9]/m)
  })
})

describe('an edge that must proxy', () => {
  let edge: TestEdge
  beforeAll(async () => {
    // Clients on 127.0.0.0/8 are a firewalled site: always proxied, never redirected.
    edge = await startTestEdge(origin, { proxyNetworks: ['127.0.0.0/8'] })
    await edge.settle()
  })
  afterAll(() => edge?.close())

  it('streams the bytes itself, and a Range gives 206 so an interrupted pull resumes', async () => {
    const whole = await fetch(at(edge.url, `/v2/${name}/blobs/${digest}`), { redirect: 'manual' })
    expect(whole.status).toBe(200)
    expect(whole.headers.get('meridian-served-from')).toBe('us-east')
    expect(await bytesOf(whole)).toEqual(bytes)
    const rest = await fetch(at(edge.url, `/v2/${name}/blobs/${digest}`), { headers: { Range: 'bytes=4000-' }, redirect: 'manual' })
    expect(rest.status).toBe(206)
    expect(rest.headers.get('content-range')).toBe(`bytes 4000-9999/10000`)
    expect(await bytesOf(rest)).toEqual(bytes.subarray(4000))
  })
})

describe('an edge whose location fails', () => {
  let edge: TestEdge
  beforeAll(async () => {
    // us-east's public URL is a closed port: every read of it fails at this edge.
    const closed = `http://127.0.0.1:${await freePort()}`
    const broken = { ...origin.config, locations: origin.config.locations.map((l) => (l.id === 'us-east' ? { ...l, serve: 'proxy' as const, params: { ...l.params, publicUrl: closed } } : l)) }
    edge = await startTestEdge({ ...origin, config: broken }, { adminToken: ADMIN })
    await edge.settle()
  })
  afterAll(() => edge?.close())

  it('falls back to the origin (never a failed pull) and skips the location for a cool-down', async () => {
    const res = await fetch(at(edge.url, `/v2/${name}/blobs/${digest}`))
    expect(res.status).toBe(200)
    expect(res.headers.get('meridian-served-from')).toBe('origin')
    expect(await bytesOf(res)).toEqual(bytes)
    const explained = await (await fetch(at(edge.url, `/_meridian/edge/route/${name}/blobs/${digest}`), { headers: { Authorization: `Bearer ${ADMIN}` } })).json() as { order: unknown[]; skipped: unknown[] }
    expect(explained.order).toEqual([])
    expect(explained.skipped).toEqual([{ id: 'us-east', reason: 'marked down' }])
    const status = await (await fetch(at(edge.url, '/_meridian/edge/status'))).json() as { locationsDown: Array<{ id: string }> }
    expect(status.locationsDown.map((d) => d.id)).toEqual(['us-east'])
  })

  it('answers BLOB_UNKNOWN only when the origin has no such blob either', async () => {
    await expectOciError(await fetch(at(edge.url, `/v2/${name}/blobs/sha256:${'1'.repeat(64)}`)), 'BLOB_UNKNOWN', 404)
  })
})
