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
