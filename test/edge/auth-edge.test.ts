// Access control at a Node edge (README "Access control", docs/edge.md): a real origin with access
// control on (its token endpoint, its JWKS, its signing keys) and a real edge verifying tokens
// offline, visibility from its region index, the guard before anything touches a location, the
// catalog and writes handed to the origin, and a client's Authorization never reaching a storage
// host. Recording proxies stand in front of the origin (what the edge asks of it) and of the
// location's storage host (what reaches it).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedirectingOrigin, startTestEdge, type TestEdge } from '../helpers/edge.ts'
import type { TestOrigin } from '../helpers/origin.ts'
import { at, bytesOf, expectOciError, manifestBytes, OCI_MANIFEST, uniqueName } from '../helpers/registry-client.ts'
import { setRepositoryPublic } from '../../db/queries/visibility.ts'
import { JWKS_PATH, type AuthSettings } from '../../oci/auth/types.ts'
import { createLogger } from '../../storage/log.ts'
import {
  challengeOf, makeAccount, newKey, originKeys, pull, pushImageWith, settingsFor, signToken, startRecordingProxy, tokenFrom, withAuthorization,
  type Credentials, type RecordingProxy,
} from './auth-kit.ts'

// No retry (CI retries failing tests once): a refusal that wrote something would, on a second
// attempt, compare against the state it left and pass. A security failure must fail.
const NO_RETRY = { retry: 0 }

let origin: TestOrigin
let originFront: RecordingProxy
let storageFront: RecordingProxy
let settings: AuthSettings
let admin: Credentials
let reader: Credentials

const privateName = uniqueName('private')
const publicName = uniqueName('public')
const image: Record<string, Awaited<ReturnType<typeof pushImageWith>>> = {}

/** An edge reaching the origin through originFront, its location's storage host through storageFront. */
function startAuthEdge({ staleAfterSeconds, ...options }: { proxyNetworks?: string[]; staleAfterSeconds?: number; feedWaitSeconds?: number } = {}) {
  return startTestEdge(origin, {
    // Given explicitly: derived from the proxy's address they would name another service.
    originUrl: originFront.url, auth: settings, jwksRefresh: { minRefreshMs: 300 }, ...options,
    editConfig: (doc) => ({
      ...doc,
      ...(staleAfterSeconds !== undefined ? { staleAfterSeconds } : {}),
      locations: (doc.locations as Array<{ params: Record<string, unknown> }>).map((l) => ({ ...l, params: { ...l.params, publicUrl: storageFront.url } })),
    }),
  })
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const token = (scopes: string[], who?: Credentials) => tokenFrom(origin.url, settings, scopes, who)

beforeAll(async () => {
  // Access control on; one location (no replication), its blobs redirected to through signed URLs.
  origin = await startRedirectingOrigin({ env: { MERIDIAN_AUTH: 'on' }, edit: (c) => ({ ...c, replication: { ...c.replication, enabled: false } }) })
  settings = settingsFor(origin.url)
  originFront = await startRecordingProxy(origin.url)
  storageFront = await startRecordingProxy(origin.url)
  admin = await makeAccount(origin.db, `admin-${crypto.randomUUID().slice(0, 8)}`, {}, true)
  reader = await makeAccount(origin.db, `reader-${crypto.randomUUID().slice(0, 8)}`, { [privateName]: ['pull'] })
  for (const name of [privateName, publicName]) image[name] = await pushImageWith(origin.url, await token([`repository:${name}:pull,push`], admin), name, 'v1')
  await setRepositoryPublic(origin.db, publicName, true)
})
afterAll(async () => {
  await storageFront?.close()
  await originFront?.close()
  await origin?.close()
})

describe('an edge with access control on, blobs redirected', NO_RETRY, () => {
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
    expect(challengeOf(res)).toEqual({ realm: `${origin.url}/v2/token`, service: settings.service, scope: `repository:${privateName}:pull` })
    await expectOciError(res, 'UNAUTHORIZED', 401)
    const blob = await fetch(at(edge.url, `/v2/${privateName}/blobs/${image[privateName]!.layer}`), { redirect: 'manual' })
    expect(blob.status).toBe(401)
    await blob.body?.cancel()
    // Decided at the edge: the origin was not asked.
    expect(originFront.since(mark, '/v2')).toEqual([])
  })

  it('refuses a private pull whatever the path\'s spelling (percent-encoded prefix or keyword)', async () => {
    for (const path of [`/%76%32/${privateName}/manifests/v1`, `/v2/${privateName}/%6d%61nifests/v1`, `/v2/${privateName.replace('-', '%2D')}/manifests/v1`]) {
      const res = await fetch(`${edge.url}${path}`, { headers: { accept: OCI_MANIFEST } })
      expect(res.status, path).not.toBe(200)
      expect([401, 404], path).toContain(res.status)
      await res.body?.cancel()
    }
  })

  it('answers /v2/ with a challenge without scope, and 200 to any valid token (an anonymous one too)', async () => {
    const res = await fetch(at(edge.url, '/v2/'))
    expect(res.status).toBe(401)
    expect(challengeOf(res)).toEqual({ realm: settings.realm, service: settings.service })
    await res.body?.cancel()
    const ok = await fetch(at(edge.url, '/v2/'), { headers: bearer(await token([])) })
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

  it('follows a repository made private again: anonymous pulls are refused once the feed says so', async () => {
    const name = uniqueName('flip')
    await pushImageWith(origin.url, await token([`repository:${name}:pull,push`], admin), name, 'v1')
    await setRepositoryPublic(origin.db, name, true)
    await edge.settle()
    const open = await fetch(at(edge.url, `/v2/${name}/manifests/v1`))
    expect(open.status).toBe(200)
    await open.body?.cancel()
    await setRepositoryPublic(origin.db, name, false)
    await edge.settle()
    const closed = await fetch(at(edge.url, `/v2/${name}/manifests/v1`))
    expect(closed.status).toBe(401)
    await closed.body?.cancel()
  })

  it('serves a pull token from the origin\'s endpoint out of its index and locations; the redirect carries no token, the storage host gets no Authorization', async () => {
    const pullToken = await token([`repository:${privateName}:pull`], reader)
    const mark = originFront.requests.length
    const storageMark = storageFront.requests.length
    const res = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: { accept: OCI_MANIFEST, ...bearer(pullToken) } })
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(image[privateName]!.manifest)
    await res.body?.cancel()
    const blob = await fetch(at(edge.url, `/v2/${privateName}/blobs/${image[privateName]!.layer}`), { redirect: 'manual', headers: bearer(pullToken) })
    expect(blob.status).toBe(307)
    const location = blob.headers.get('location')!
    expect(location.startsWith(`${storageFront.url}/`)).toBe(true)
    expect(location).not.toContain(pullToken.split('.')[2]!)
    // What a client does: follow to another host without the registry's Authorization.
    expect(await bytesOf(await fetch(location))).toEqual(image[privateName]!.layerBytes)
    // Only the JWKS (once, on the first token) was asked of the origin, nothing under /v2.
    expect(originFront.since(mark, '/v2')).toEqual([])
    expect(storageFront.since(storageMark).length).toBeGreaterThan(0)
    expect(withAuthorization(storageFront.requests)).toEqual([])
  })

  it('refuses a token for another repository with insufficient_scope', async () => {
    const other = await token([`repository:${publicName}:pull`], reader)
    const res = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: bearer(other) })
    expect(res.status).toBe(401)
    expect(challengeOf(res)).toMatchObject({ error: 'insufficient_scope', scope: `repository:${privateName}:pull` })
    await res.body?.cancel()
  })

  it('refuses expired, not yet valid, forged, unknown-kid, other-audience and other-issuer tokens with invalid_token', async () => {
    const real = await originKeys(origin.db).current()
    const stranger = await newKey()
    const access = [pull(privateName)]
    const bad = {
      expired: await signToken(real, settings, { access, expiresIn: -120 }),
      notYetValid: await signToken(real, settings, { access, notBefore: Math.floor(Date.now() / 1000) + 600 }),
      forged: await signToken(stranger, settings, { access, kid: real.kid }),
      unknownKid: await signToken(stranger, settings, { access }),
      otherAudience: await signToken(real, settings, { access, audience: 'registry.elsewhere' }),
      otherIssuer: await signToken(real, settings, { access, issuer: 'meridian:elsewhere' }),
      garbage: 'not.a.token',
      unsigned: `${btoa(JSON.stringify({ alg: 'none', kid: real.kid }))}.${btoa(JSON.stringify({ access }))}.`,
    }
    // The same claims with the real key pass: the refusals are for what was changed.
    const good = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: bearer(await signToken(real, settings, { access })) })
    expect(good.status).toBe(200)
    await good.body?.cancel()
    const storageMark = storageFront.requests.length
    for (const [what, bad_] of Object.entries(bad)) {
      const res = await fetch(at(edge.url, `/v2/${privateName}/blobs/${image[privateName]!.layer}`), { redirect: 'manual', headers: bearer(bad_) })
      expect(res.status, what).toBe(401)
      expect(challengeOf(res), what).toMatchObject({ error: 'invalid_token', realm: settings.realm })
      expect(await res.text(), what).not.toContain(bad_)
    }
    expect(storageFront.since(storageMark)).toEqual([])
  })

  it('refuses a push with a pull-only token at the edge; forwards one with push, Authorization included, and the origin checks it again', async () => {
    const manifest = manifestBytes(image[privateName]!.manifestBody)
    const mark = originFront.requests.length
    // The reader asks for push too and is granted pull only: a partial grant, not an error.
    const pullOnly = await token([`repository:${privateName}:pull,push`], reader)
    const put = (t: string) => fetch(at(edge.url, `/v2/${privateName}/manifests/edge-push`), { method: 'PUT', body: manifest, headers: { 'content-type': OCI_MANIFEST, ...bearer(t) } })
    const refused = await put(pullOnly)
    expect(refused.status).toBe(401)
    expect(challengeOf(refused)).toMatchObject({ error: 'insufficient_scope', scope: `repository:${privateName}:pull,push` })
    await refused.body?.cancel()
    const upload = await fetch(at(edge.url, `/v2/${privateName}/blobs/uploads/`), { method: 'POST', headers: bearer(pullOnly) })
    expect(upload.status).toBe(401)
    await upload.body?.cancel()
    expect(originFront.since(mark, '/v2')).toEqual([])

    const pusher = await token([`repository:${privateName}:pull,push`], admin)
    const pushed = await put(pusher)
    expect(pushed.status).toBe(201)
    await pushed.body?.cancel()
    expect(originFront.since(mark, `/v2/${privateName}/manifests/edge-push`).map((r) => [r.method, r.headers.authorization])).toEqual([['PUT', `Bearer ${pusher}`]])
  })

  it('hands the catalog to the origin with the client\'s Authorization: it lists what the caller may pull', async () => {
    const mark = originFront.requests.length
    const list = async (t: string) => {
      const res = await fetch(at(edge.url, '/v2/_catalog?n=1000'), { headers: bearer(t) })
      expect(res.status).toBe(200)
      return ((await res.json()) as { repositories: string[] }).repositories
    }
    const readerToken = await token(['registry:catalog:*'], reader)
    const anonymousToken = await token(['registry:catalog:*'])
    const readers = await list(readerToken)
    expect(readers).toContain(privateName)
    expect(readers).toContain(publicName)
    const anyone = await list(anonymousToken)
    expect(anyone).toContain(publicName)
    expect(anyone).not.toContain(privateName)
    expect(originFront.since(mark, '/v2/_catalog').map((r) => r.headers.authorization)).toEqual([`Bearer ${readerToken}`, `Bearer ${anonymousToken}`])
    const anonymous = await fetch(at(edge.url, '/v2/_catalog'))
    expect(anonymous.status).toBe(401)
    expect(challengeOf(anonymous).scope).toBe('registry:catalog:*')
    await anonymous.body?.cancel()
  })

  it('hands the token endpoint to the origin (a deployment whose public hostname is an edge)', async () => {
    const query = new URLSearchParams({ service: settings.service, scope: `repository:${privateName}:pull` })
    const res = await fetch(at(edge.url, `/v2/token?${query}`), { headers: { authorization: `Basic ${btoa(`${reader.user}:${reader.secret}`)}` } })
    expect(res.status).toBe(200)
    const issued = ((await res.json()) as { token: string }).token
    const pulled = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: bearer(issued) })
    expect(pulled.status).toBe(200)
    await pulled.body?.cancel()
    const wrong = await fetch(at(edge.url, `/v2/token?${query}`), { headers: { authorization: `Basic ${btoa(`${reader.user}:wrong`)}` } })
    expect(wrong.status).toBe(401)
    await wrong.body?.cancel()
  })

  it('fetches the origin\'s JWKS once more for a kid it does not know (a key rotated at the origin), not for every request', async () => {
    const keys = originKeys(origin.db)
    const known = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: bearer(await token([`repository:${privateName}:pull`], reader)) })
    expect(known.status).toBe(200)
    await known.body?.cancel()
    await new Promise((r) => setTimeout(r, 400)) // past the refresh floor this edge was given (300 ms)
    const mark = originFront.requests.length
    const rotated = await keys.rotate()
    for (let i = 0; i < 3; i++) {
      const res = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: bearer(await signToken(rotated, settings, { access: [pull(privateName)] })) })
      expect(res.status).toBe(200)
      await res.body?.cancel()
    }
    expect(originFront.since(mark, JWKS_PATH)).toHaveLength(1)
    // The retired key keeps verifying until its last token has expired.
    const old = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: bearer(await token([`repository:${privateName}:pull`], reader)) })
    expect(old.status).toBe(200)
    await old.body?.cancel()
  })
})

describe('an edge with access control on, blobs proxied', NO_RETRY, () => {
  let edge: TestEdge
  beforeAll(async () => {
    edge = await startAuthEdge({ proxyNetworks: ['127.0.0.0/8'] })
    await edge.settle()
  })
  afterAll(() => edge?.close())

  it('never touches a location for a refused request, and streams an allowed one without the client\'s Authorization', async () => {
    const path = `/v2/${privateName}/blobs/${image[privateName]!.layer}`
    const storageMark = storageFront.requests.length
    const otherRepository = await token([`repository:${publicName}:pull`], reader)
    for (const headers of [{}, bearer('not.a.token'), bearer(otherRepository)]) {
      const res = await fetch(at(edge.url, path), { headers })
      expect(res.status).toBe(401)
      await res.body?.cancel()
    }
    expect(storageFront.since(storageMark)).toEqual([])

    const pullToken = await token([`repository:${privateName}:pull`], reader)
    const res = await fetch(at(edge.url, path), { headers: bearer(pullToken) })
    expect(res.status).toBe(200)
    expect(res.headers.get('meridian-served-from')).toBe('us-east')
    expect(await bytesOf(res)).toEqual(image[privateName]!.layerBytes)
    const reads = storageFront.since(storageMark)
    expect(reads.length).toBeGreaterThan(0)
    expect(withAuthorization(reads)).toEqual([])
  })
})

describe('an edge configured without access control in front of an origin that has it', () => {
  it('says so loudly at start', async () => {
    const lines: string[] = []
    const log = createLogger({ write: (line) => lines.push(line) })
    const edge = await startTestEdge(origin, { auth: null, log })
    try {
      const deadline = Date.now() + 5000
      while (!lines.some((l) => l.includes('auth: null')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(lines.find((l) => l.includes('auth: null'))).toMatch(/"level":"error"/)
    } finally {
      await edge.close()
    }
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
    // Stale once the poll in flight has ended and more than a second has passed without a page.
    const deadline = Date.now() + 10_000
    for (;;) {
      const status = await (await fetch(`${edge.url}/_meridian/edge/status`)).json() as { index: { lastSyncAt: number | null; snapshotAt: number } }
      if (Date.now() - (status.index.lastSyncAt ?? status.index.snapshotAt) > 2500) break
      if (Date.now() > deadline) throw new Error(`the edge kept syncing: ${JSON.stringify(status)} now ${Date.now()} ${JSON.stringify(originFront.requests.slice(-5).map((r) => r.path))}`)
      await new Promise((r) => setTimeout(r, 200))
    }
    const mark = originFront.requests.length
    const open = await fetch(at(edge.url, `/v2/${publicName}/manifests/v1`), { headers: { accept: OCI_MANIFEST } })
    expect(open.status).toBe(200)
    expect(open.headers.get('meridian-served-from')).toBe('origin')
    await open.body?.cancel()
    const closed = await fetch(at(edge.url, `/v2/${privateName}/manifests/v1`), { headers: { accept: OCI_MANIFEST } })
    expect(closed.status).toBe(401)
    expect(closed.headers.get('meridian-served-from')).toBe('origin')
    expect(challengeOf(closed).realm).toBe(settings.realm)
    await closed.body?.cancel()
    expect(originFront.since(mark, '/v2').map((r) => r.path)).toEqual([`/v2/${publicName}/manifests/v1`, `/v2/${privateName}/manifests/v1`])
    // A token is still verified here, and a valid one served from the index (by digest: never stale).
    const pullToken = await token([`repository:${privateName}:pull`], reader)
    const byDigest = await fetch(at(edge.url, `/v2/${privateName}/manifests/${image[privateName]!.manifest}`), { headers: { accept: OCI_MANIFEST, ...bearer(pullToken) } })
    expect(byDigest.status).toBe(200)
    expect(byDigest.headers.get('meridian-served-from')).toBeNull()
    await byDigest.body?.cancel()
  })

  it('with the origin unreachable too, refuses what it cannot be sure of (401), never a 500, and still serves tokens', async () => {
    originFront.blocked.add('/v2')
    try {
      const open = await fetch(at(edge.url, `/v2/${publicName}/manifests/${image[publicName]!.manifest}`), { headers: { accept: OCI_MANIFEST } })
      expect(open.status).toBe(401)
      expect(challengeOf(open).scope).toBe(`repository:${publicName}:pull`)
      await open.body?.cancel()
      const pullToken = await token([`repository:${publicName}:pull`], reader)
      const allowed = await fetch(at(edge.url, `/v2/${publicName}/manifests/${image[publicName]!.manifest}`), { headers: { accept: OCI_MANIFEST, ...bearer(pullToken) } })
      expect(allowed.status).toBe(200)
      await allowed.body?.cancel()
    } finally {
      originFront.blocked.delete('/v2')
    }
  })
})
