// An edge whose index has not heard of a push yet (a new edge, a lagging feed) hands the read to
// the origin: the answer is the origin's, so a pull never fails while the index catches up, and a
// miss is never cached.

import { afterAll, beforeAll, expect, it } from 'vitest'
import { createEdgeApp } from '../../edge/app.ts'
import { createSqlIndex } from '../../edge/index/sql-index.ts'
import { openNodeStore } from '../../edge/entry/node-store.ts'
import type { Hono } from 'hono'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { bytesOf, pushBlob, pushImage, randomBytes, uniqueName } from '../helpers/registry-client.ts'

let origin: TestOrigin
let edge: Hono
const name = uniqueName('miss')

beforeAll(async () => {
  origin = await startTestOrigin()
  // An index that follows nothing: every read misses.
  const index = await createSqlIndex(openNodeStore(':memory:'))
  edge = createEdgeApp({ model: index, origin: { url: origin.url }, locations: [], locate: () => null, home: { lat: 0, lon: 0, source: 'home' } })
})
afterAll(() => origin?.close())

it('answers manifests, tags and blobs it has not indexed from the origin, and again once pushed later', async () => {
  const bytes = randomBytes(2048)
  const blob = await pushBlob(origin.url, name, bytes)
  const image = await pushImage(origin.url, name, 'v1')
  const manifest = await edge.request(`/v2/${name}/manifests/v1`)
  expect(manifest.status).toBe(200)
  expect(manifest.headers.get('docker-content-digest')).toBe(image.digest)
  expect(manifest.headers.get('meridian-served-from')).toBe('origin')
  const got = await edge.request(`/v2/${name}/blobs/${blob.digest}`)
  expect(got.status).toBe(200)
  expect(await bytesOf(got)).toEqual(bytes)
  expect(await (await edge.request(`/v2/${name}/tags/list`)).json()).toEqual({ name, tags: ['v1'] })
  // Not cached: a tag pushed after a miss is found at once.
  expect((await edge.request(`/v2/${name}/manifests/v2`)).status).toBe(404)
  await pushImage(origin.url, name, 'v2')
  expect((await edge.request(`/v2/${name}/manifests/v2`)).status).toBe(200)
  expect(await (await edge.request('/metrics')).text()).toMatch(/^meridian_edge_index_miss_total [5-9]$/m)
})

it('sends every read to the origin until its index has loaded a snapshot (a catalog from an empty index would be wrong)', async () => {
  await pushImage(origin.url, name, 'v3')
  const index = await createSqlIndex(openNodeStore(':memory:'))
  const starting = createEdgeApp({ model: index, indexStatus: () => index.status(), origin: { url: origin.url }, locations: [], locate: () => null, home: { lat: 0, lon: 0, source: 'home' } })
  const catalog = await starting.request('/v2/_catalog')
  expect(catalog.headers.get('meridian-served-from')).toBe('origin')
  expect(((await catalog.json()) as { repositories: string[] }).repositories).toContain(name)
})

it('asks the origin for referrers of a repository it does not know, and for an index child it lacks', async () => {
  const index = await createSqlIndex(openNodeStore(':memory:'))
  const app = createEdgeApp({ model: index, origin: { url: origin.url }, locations: [], locate: () => null, home: { lat: 0, lon: 0, source: 'home' } })
  const fresh = uniqueName('miss-ref')
  const image = await pushImage(origin.url, fresh, 'v1')
  const referrers = await app.request(`/v2/${fresh}/referrers/${image.digest}`)
  expect(referrers.status).toBe(200)
  expect(referrers.headers.get('meridian-served-from')).toBe('origin')
})

it('asks the origin first for tags while its index is stale, and answers from the index while it is fresh', async () => {
  const repo = uniqueName('stale')
  const current = await pushImage(origin.url, repo, 'v1')
  // An index that still has v1 pointing at an older manifest.
  const index = await createSqlIndex(openNodeStore(':memory:'))
  const old = new TextEncoder().encode('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}')
  const oldDigest = `sha256:${'a'.repeat(64)}`
  const at = Date.now()
  await index.apply([
    { seq: 1, at, kind: 'manifest.put', repository: repo, digest: oldDigest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: old.byteLength, subject: null, artifactType: null, annotations: null, payload: btoa(String.fromCharCode(...old)) },
    { seq: 2, at, kind: 'tag.set', repository: repo, tag: 'v1', digest: oldDigest },
  ], { head: 2 })
  let lastSyncAt = Date.now()
  const status = async () => ({ position: 2, head: 2, lagSeconds: 0, lastSyncAt, ready: true })
  const app = createEdgeApp({ model: index, indexStatus: status, staleAfterSeconds: 60, origin: { url: origin.url }, locations: [], locate: () => null, home: { lat: 0, lon: 0, source: 'home' } })
  const fresh = await app.request(`/v2/${repo}/manifests/v1`, { method: 'HEAD' })
  expect(fresh.headers.get('docker-content-digest')).toBe(oldDigest)
  lastSyncAt = Date.now() - 61_000
  await new Promise((r) => setTimeout(r, 1100))
  const stale = await app.request(`/v2/${repo}/manifests/v1`, { method: 'HEAD' })
  expect(stale.headers.get('docker-content-digest')).toBe(current.digest)
  expect(stale.headers.get('meridian-served-from')).toBe('origin')
  // By digest nothing can be stale: still the index.
  expect((await app.request(`/v2/${repo}/manifests/${oldDigest}`, { method: 'HEAD' })).headers.get('meridian-served-from')).toBeNull()
})
