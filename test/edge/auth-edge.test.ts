// Access control at a Node edge (README "Access control", docs/edge.md): tokens verified offline
// against the origin's JWKS, visibility from the region index, the guard before anything touches
// a location, the catalog and writes handed to the origin, and a client's Authorization never
// reaching a storage host. A real origin and a real edge; recording proxies in front of the origin
// (what the edge asks it) and of the location's storage host (what reaches it).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedirectingOrigin, startTestEdge, type TestEdge } from '../helpers/edge.ts'
import type { TestOrigin } from '../helpers/origin.ts'
import { at, bytesOf, expectOciError, imageManifest, manifestBytes, pushBlob, pushImageBlobs, pushManifest, randomBytes, uniqueName, OCI_MANIFEST } from '../helpers/registry-client.ts'
import { setVisibility } from '../feed/visibility.ts'
import type { AuthSettings, Jwks } from '../../oci/auth/types.ts'
import {
  catalog, challengeOf, newKey, pull, pushPull, settingsFor, signToken, startJwksServer, startRecordingProxy, withAuthorization,
  type RecordingProxy, type TestKey,
} from './auth-kit.ts'

let origin: TestOrigin
let originFront: RecordingProxy
let storageFront: RecordingProxy
let jwks: Awaited<ReturnType<typeof startJwksServer>>
let settings: AuthSettings
let key: TestKey
const published: Jwks = { keys: [] }

const privateName = uniqueName('private')
const publicName = uniqueName('public')
const image: Record<string, { manifest: string; layer: string; layerBytes: Uint8Array }> = {}

async function pushTestImage(name: string) {
  const layerBytes = randomBytes(4096)
  const layer = await pushBlob(origin.url, name, layerBytes)
  const { config } = await pushImageBlobs(origin.url, name, { layers: 0 })
  const manifest = await pushManifest(origin.url, name, 'v1', imageManifest(config, [layer]))
  image[name] = { manifest: manifest.digest, layer: layer.digest, layerBytes }
}

/** An edge in front of the origin, its location's storage host behind the recording proxy. */
function startAuthEdge({ staleAfterSeconds, ...options }: { proxyNetworks?: string[]; staleAfterSeconds?: number; feedWaitSeconds?: number } = {}) {
  return startTestEdge(origin, {
    originUrl: originFront.url, auth: settings, jwksUrl: jwks.url, jwksRefresh: { minRefreshMs: 300 }, ...options,
    editConfig: (doc) => ({
      ...doc,
      ...(staleAfterSeconds !== undefined ? { staleAfterSeconds } : {}),
      locations: (doc.locations as Array<{ params: Record<string, unknown> }>).map((l) => ({ ...l, params: { ...l.params, publicUrl: storageFront.url } })),
    }),
  })
}

beforeAll(async () => {
  // One location (no replication), its blobs redirected to through signed URLs.
  origin = await startRedirectingOrigin({ edit: (c) => ({ ...c, replication: { ...c.replication, enabled: false } }) })
  settings = settingsFor(origin.url)
  originFront = await startRecordingProxy(origin.url)
  storageFront = await startRecordingProxy(origin.url)
  key = await newKey()
  published.keys = [key.publicJwk]
  jwks = await startJwksServer(() => published)
  await pushTestImage(privateName)
  await pushTestImage(publicName)
  setVisibility(origin.db, publicName, true)
})
afterAll(async () => {
  await jwks?.close()
  await storageFront?.close()
  await originFront?.close()
  await origin?.close()
})

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('an edge with access control on, blobs redirected', () => {
  let edge: TestEdge
  beforeAll(async () => {
    edge = await startAuthEdge()
    await edge.settle()
  })
  afterAll(() => edge?.close())

  it('refuses an anonymous pull of a private repository: 401 challenge naming the origin\'s realm and the scope', async () => {
    const mark = originFront.requests.length
    const res = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: { accept: OCI_MANIFEST } })
    expect(res.status).toBe(401)
    expect(challengeOf(res)).toEqual({ realm: settings.realm, service: settings.service, scope: `repository:${privateName}:pull` })
    await expectOciError(res, 'UNAUTHORIZED', 401)
    const blob = await fetch(at(edge.url, `/v2/${privateName}/blobs/${image[privateName]!.layer}`), { redirect: 'manual' })
    expect(blob.status).toBe(401)
    await blob.body?.cancel()
    // Decided at the edge: the origin was not asked.
    expect(originFront.since(mark, '/v2')).toEqual([])
  })

  it('answers /v2/ with a challenge without scope, and 200 to any valid token', async () => {
    const res = await fetch(at(edge.url, '/v2/'))
    expect(res.status).toBe(401)
    expect(challengeOf(res)).toEqual({ realm: settings.realm, service: settings.service })
    await res.body?.cancel()
    const ok = await fetch(at(edge.url, '/v2/'), { headers: bearer(await signToken(key, settings, { sub: '' })) })
    expect(ok.status).toBe(200)
    await ok.body?.cancel()
  })

  it('serves a public repository anonymously from its index and locations, without asking the origin', async () => {
    const mark = originFront.requests.length
    const res = await fetch(at(edge.url, `/v2/${publicName}/manifests/v1`), { headers: { accept: OCI_MANIFEST } })
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(image[publicName]!.manifest)
    await res.body?.cancel()
    const blob = await fetch(at(edge.url, `/v2/${publicName}/blobs/${image[publicName]!.layer}`), { redirect: 'manual' })
    expect(blob.status).toBe(307)
    const location = blob.headers.get('location')!
    expect(location.startsWith(`${storageFront.url}/`)).toBe(true)
    expect(await bytesOf(await fetch(location))).toEqual(image[publicName]!.layerBytes)
    expect(originFront.since(mark, '/v2')).toEqual([])
    // Only pull is public: a push still needs a token.
    const push = await fetch(at(edge.url, `/v2/${publicName}/blobs/uploads/`), { method: 'POST' })
    expect(push.status).toBe(401)
    expect(challengeOf(push).scope).toBe(`repository:${publicName}:pull,push`)
    await push.body?.cancel()
  })

  it('serves a valid pull token from its index and locations; the redirect carries no token, the storage host gets no Authorization', async () => {
    const token = await signToken(key, settings, { access: [pull(privateName)] })
    const mark = originFront.requests.length
    const storageMark = storageFront.requests.length
    const res = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: { accept: OCI_MANIFEST, ...bearer(token) } })
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(image[privateName]!.manifest)
    await res.body?.cancel()
    const blob = await fetch(at(edge.url, `/v2/${privateName}/blobs/${image[privateName]!.layer}`), { redirect: 'manual', headers: bearer(token) })
    expect(blob.status).toBe(307)
    const location = blob.headers.get('location')!
    expect(location.startsWith(`${storageFront.url}/`)).toBe(true)
    expect(location).not.toContain(token)
    expect(location).not.toContain(token.split('.')[2]!)
    // What a client does: follow to another host without the registry's Authorization.
    expect(await bytesOf(await fetch(location))).toEqual(image[privateName]!.layerBytes)
    expect(originFront.since(mark, '/v2')).toEqual([])
    // The edge's own probe reached the storage host too: without the client's header.
    expect(storageFront.since(storageMark).length).toBeGreaterThan(0)
    expect(withAuthorization(storageFront.requests)).toEqual([])
  })

  it('refuses a token for another repository with insufficient_scope', async () => {
    const token = await signToken(key, settings, { access: [pull(publicName)] })
    const res = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: bearer(token) })
    expect(res.status).toBe(401)
    expect(challengeOf(res)).toMatchObject({ error: 'insufficient_scope', scope: `repository:${privateName}:pull` })
    await res.body?.cancel()
  })

  it('refuses expired, not yet valid, forged, unknown-kid, other-audience and other-issuer tokens with invalid_token', async () => {
    const stranger = await newKey()
    const bad = {
      expired: await signToken(key, settings, { access: [pull(privateName)], expiresIn: -120 }),
      notYetValid: await signToken(key, settings, { access: [pull(privateName)], notBefore: Math.floor(Date.now() / 1000) + 600 }),
      forged: await signToken(stranger, settings, { access: [pull(privateName)], kid: key.kid }),
      unknownKid: await signToken(stranger, settings, { access: [pull(privateName)] }),
      otherAudience: await signToken(key, settings, { access: [pull(privateName)], audience: 'registry.elsewhere' }),
      otherIssuer: await signToken(key, settings, { access: [pull(privateName)], issuer: 'meridian:elsewhere' }),
      garbage: 'not.a.token',
      unsigned: `${btoa(JSON.stringify({ alg: 'none', kid: key.kid }))}.${btoa(JSON.stringify({ access: [pull(privateName)] }))}.`,
    }
    const storageMark = storageFront.requests.length
    for (const [what, token] of Object.entries(bad)) {
      const res = await fetch(at(edge.url, `/v2/${privateName}/blobs/${image[privateName]!.layer}`), { redirect: 'manual', headers: bearer(token) })
      expect(res.status, what).toBe(401)
      expect(challengeOf(res), what).toMatchObject({ error: 'invalid_token', realm: settings.realm })
      const body = await res.text()
      expect(body, what).not.toContain(token)
    }
    expect(storageFront.since(storageMark)).toEqual([])
  })

  it('refuses a push with a pull-only token at the edge; forwards one with push, Authorization included, for the origin to check again', async () => {
    const { config } = await pushImageBlobs(origin.url, privateName, { layers: 0 })
    const manifest = imageManifest(config, [])
    const mark = originFront.requests.length
    const pullOnly = await signToken(key, settings, { access: [pull(privateName)] })
    const refused = await fetch(at(edge.url, `/v2/${privateName}/manifests/edge-push`), {
      method: 'PUT', body: manifestBytes(manifest), headers: { 'content-type': OCI_MANIFEST, ...bearer(pullOnly) },
    })
    expect(refused.status).toBe(401)
    expect(challengeOf(refused)).toMatchObject({ error: 'insufficient_scope', scope: `repository:${privateName}:pull,push` })
    await refused.body?.cancel()
    const upload = await fetch(at(edge.url, `/v2/${privateName}/blobs/uploads/`), { method: 'POST', headers: bearer(pullOnly) })
    expect(upload.status).toBe(401)
    await upload.body?.cancel()
    expect(originFront.since(mark, '/v2')).toEqual([])

    const pusher = await signToken(key, settings, { access: [pushPull(privateName)] })
    const res = await putManifestWith(edge.url, privateName, 'edge-push', manifest, pusher)
    expect(res.status).toBe(201)
    const forwarded = originFront.since(mark, `/v2/${privateName}/manifests/edge-push`)
    expect(forwarded.map((r) => [r.method, r.headers.authorization])).toEqual([['PUT', `Bearer ${pusher}`]])
  })

  it('hands the catalog to the origin with the client\'s Authorization (only the origin knows grants)', async () => {
    const token = await signToken(key, settings, { access: [catalog] })
    const mark = originFront.requests.length
    const res = await fetch(at(edge.url, '/v2/_catalog'), { headers: bearer(token) })
    expect(res.status).toBe(200)
    await res.body?.cancel()
    expect(originFront.since(mark, '/v2/_catalog').map((r) => r.headers.authorization)).toEqual([`Bearer ${token}`])
    const anonymous = await fetch(at(edge.url, '/v2/_catalog'))
    expect(anonymous.status).toBe(401)
    expect(challengeOf(anonymous).scope).toBe('registry:catalog:*')
    await anonymous.body?.cancel()
  })

  it('fetches the JWKS once more for a kid it does not know (a key rotated at the origin), not for every request', async () => {
    // A token it knows first, so the key set is loaded before the rotation.
    const known = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: bearer(await signToken(key, settings, { access: [pull(privateName)] })) })
    expect(known.status).toBe(200)
    await known.body?.cancel()
    await new Promise((r) => setTimeout(r, 400)) // past the refresh floor this edge was given (300 ms)
    const before = jwks.fetches()
    const rotated = await newKey()
    published.keys = [rotated.publicJwk, key.publicJwk]
    for (let i = 0; i < 3; i++) {
      const res = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: bearer(await signToken(rotated, settings, { access: [pull(privateName)] })) })
      expect(res.status).toBe(200)
      await res.body?.cancel()
    }
    expect(jwks.fetches() - before).toBe(1)
  })
})

describe('an edge with access control on, blobs proxied', () => {
  let edge: TestEdge
  beforeAll(async () => {
    edge = await startAuthEdge({ proxyNetworks: ['127.0.0.0/8'] })
    await edge.settle()
  })
  afterAll(() => edge?.close())

  it('never touches a location for a refused request, and streams an allowed one without the client\'s Authorization', async () => {
    const path = `/v2/${privateName}/blobs/${image[privateName]!.layer}`
    const storageMark = storageFront.requests.length
    for (const headers of [{}, bearer('not.a.token'), bearer(await signToken(key, settings, { access: [pull(publicName)] }))]) {
      const res = await fetch(at(edge.url, path), { headers })
      expect(res.status).toBe(401)
      await res.body?.cancel()
    }
    expect(storageFront.since(storageMark)).toEqual([])

    const token = await signToken(key, settings, { access: [pull(privateName)] })
    const res = await fetch(at(edge.url, path), { headers: bearer(token) })
    expect(res.status).toBe(200)
    expect(res.headers.get('meridian-served-from')).toBe('us-east')
    expect(await bytesOf(res)).toEqual(image[privateName]!.layerBytes)
    const reads = storageFront.since(storageMark)
    expect(reads.length).toBeGreaterThan(0)
    expect(withAuthorization(reads)).toEqual([])
  })
})

describe('an edge with access control on whose index is stale', () => {
  let edge: TestEdge
  beforeAll(async () => {
    edge = await startAuthEdge({ staleAfterSeconds: 1, feedWaitSeconds: 1 })
    await edge.settle()
  })
  afterAll(async () => {
    originFront.blocked.clear()
    await edge?.close()
  })

  it('does not trust its visibility: a request without a token is the origin\'s to answer', async () => {
    originFront.blocked.add('/_meridian/feed')
    // Stale once the poll in flight has ended and a second has passed without a page.
    const deadline = Date.now() + 10_000
    for (;;) {
      const status = await (await fetch(`${edge.url}/_meridian/edge/status`)).json() as { index: { lastSyncAt: number | null } }
      if (status.index.lastSyncAt !== null && Date.now() - status.index.lastSyncAt > 2500) break
      if (Date.now() > deadline) throw new Error('the edge kept syncing')
      await new Promise((r) => setTimeout(r, 200))
    }
    const mark = originFront.requests.length
    const res = await fetch(at(edge.url, `/v2/${publicName}/manifests/v1`), { headers: { accept: OCI_MANIFEST } })
    // This origin has access control off, so it answers; one with it on decides from its own tables.
    expect(res.status).toBe(200)
    expect(res.headers.get('meridian-served-from')).toBe('origin')
    await res.body?.cancel()
    expect(originFront.since(mark, `/v2/${publicName}/manifests/v1`)).toHaveLength(1)
    // A token is still verified here, and a valid one served from the index.
    const token = await signToken(key, settings, { access: [pull(privateName)] })
    const digest = image[privateName]!.manifest
    const byDigest = await fetch(at(edge.url, `/v2/${privateName}/manifests/${digest}`), { headers: { accept: OCI_MANIFEST, ...bearer(token) } })
    expect(byDigest.status).toBe(200)
    expect(byDigest.headers.get('meridian-served-from')).toBeNull()
    await byDigest.body?.cancel()
  })
})

async function putManifestWith(url: string, name: string, reference: string, manifest: Record<string, unknown>, token: string): Promise<Response> {
  const res = await fetch(at(url, `/v2/${name}/manifests/${reference}`), {
    method: 'PUT', body: manifestBytes(manifest), headers: { 'content-type': OCI_MANIFEST, ...bearer(token) },
  })
  await res.body?.cancel()
  return res
}
