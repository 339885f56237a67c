// What every runtime's edge test runs: the behavioural pull suite (test/pull/pull-suite.ts) against
// the edge running in that runtime as a child process, and the redirect a blob pull is for: a 307
// to the signed URL of the location nearest the client, not everything answered by the origin.
// One origin and one edge per file, shared by those; plus an origin with access control on and an
// edge of the runtime in front of it (tokens verified inside the runtime against the origin's JWKS).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { definePullSuite } from '../pull/pull-suite.ts'
import { startRedirectingOrigin } from '../helpers/edge.ts'
import { runtimeTestsEnabled, startRuntimeEdge, type EdgeRuntimeName, type RuntimeEdge } from '../helpers/runtime-edge.ts'
import { waitForReplication } from '../helpers/replication.ts'
import { at, bytesOf, pushBlob, randomBytes, uniqueName } from '../helpers/registry-client.ts'
import type { TestOrigin } from '../helpers/origin.ts'
import { nearestFirst } from '../../storage/distance.ts'
import { setRepositoryPublic } from '../../db/queries/visibility.ts'
import { challengeOf, makeAccount, newKey, originKeys, pull, pushImageWith, settingsFor, signToken, tokenFrom } from '../edge/auth-kit.ts'

export interface ClientPlacement {
  /** Headers that place the client (workerd: request.cf), or none. */
  headers: Record<string, string>
  /** Where the edge should then believe the client is, and the locator that says so. */
  position: { lat: number; lon: number }
  source: string
}

export function defineRuntimeEdgeTests(runtime: EdgeRuntimeName, label: string, client: ClientPlacement): void {
  describe.skipIf(!runtimeTestsEnabled)(`${label} (MERIDIAN_EDGE_RUNTIMES=0 skips)`, () => {
    let origin: TestOrigin
    let edge: RuntimeEdge
    const token = `edge-token-${crypto.randomUUID()}`

    beforeAll(async () => {
      origin = await startRedirectingOrigin({ env: { MERIDIAN_EDGE_TOKEN: token } })
      edge = await startRuntimeEdge(runtime, origin, { token, home: { lat: 50.1, lon: 8.7 } })
    }, 120_000)
    afterAll(async () => {
      await edge?.close()
      await origin?.close()
    })

    definePullSuite(label, async () => ({ origin: origin.url, pull: edge.url, settle: () => edge.settle(), close: async () => {} }))

    describe(`access control: ${label}`, () => {
      // A second origin, with access control on: its token endpoint, its JWKS, its keys.
      let secureOrigin: TestOrigin
      let secured: RuntimeEdge
      beforeAll(async () => {
        secureOrigin = await startRedirectingOrigin({ env: { MERIDIAN_EDGE_TOKEN: token, MERIDIAN_AUTH: 'on' } })
        secured = await startRuntimeEdge(runtime, secureOrigin, { token, region: `auth-${runtime}` })
      }, 120_000)
      afterAll(async () => {
        await secured?.close()
        await secureOrigin?.close()
      })

      it('refuses an anonymous pull of a private repository (401 naming the realm), serves a valid token and a public repository', async () => {
        const settings = settingsFor(secureOrigin.url)
        const privateName = uniqueName('private')
        const publicName = uniqueName('public')
        const admin = await makeAccount(secureOrigin.db, `admin-${runtime}`, {}, true)
        const reader = await makeAccount(secureOrigin.db, `reader-${runtime}`, { [privateName]: ['pull'] })
        const secret = await pushImageWith(secureOrigin.url, await tokenFrom(secureOrigin.url, settings, [`repository:${privateName}:pull,push`], admin), privateName, 'v1')
        const open = await pushImageWith(secureOrigin.url, await tokenFrom(secureOrigin.url, settings, [`repository:${publicName}:pull,push`], admin), publicName, 'v1')
        await setRepositoryPublic(secureOrigin.db, publicName, true)
        await waitForReplication(secureOrigin.db)
        await secured.settle()
        const blobOf = (name: string, digest: string) => at(secured.url, `/v2/${name}/blobs/${digest}`)

        const anonymous = await fetch(blobOf(privateName, secret.layer), { redirect: 'manual', headers: client.headers })
        expect(anonymous.status).toBe(401)
        expect(challengeOf(anonymous)).toEqual({ realm: settings.realm, service: settings.service, scope: `repository:${privateName}:pull` })
        await anonymous.body?.cancel()

        // A token from the origin's endpoint, verified inside this runtime against the origin's JWKS.
        const pullToken = await tokenFrom(secureOrigin.url, settings, [`repository:${privateName}:pull`], reader)
        const allowed = await fetch(blobOf(privateName, secret.layer), { redirect: 'manual', headers: { ...client.headers, authorization: `Bearer ${pullToken}` } })
        expect(allowed.status).toBe(307)
        expect(await bytesOf(await fetch(allowed.headers.get('location')!))).toEqual(secret.layerBytes)
        const manifest = await fetch(at(secured.url, `/v2/${privateName}/manifests/v1`), { headers: { ...client.headers, authorization: `Bearer ${pullToken}` } })
        expect(manifest.status).toBe(200)
        expect(manifest.headers.get('docker-content-digest')).toBe(secret.manifest)
        await manifest.body?.cancel()

        const real = await originKeys(secureOrigin.db).current()
        const forged = await signToken(await newKey(), settings, { access: [pull(privateName)], kid: real.kid })
        const expired = await signToken(real, settings, { access: [pull(privateName)], expiresIn: -120 })
        for (const bad of [forged, expired]) {
          const refused = await fetch(blobOf(privateName, secret.layer), { redirect: 'manual', headers: { authorization: `Bearer ${bad}` } })
          expect(refused.status).toBe(401)
          expect(challengeOf(refused).error).toBe('invalid_token')
          await refused.body?.cancel()
        }

        const head = await fetch(blobOf(publicName, open.layer), { method: 'HEAD', headers: client.headers })
        expect(head.status).toBe(200)
        const pulled = await fetch(blobOf(publicName, open.layer), { redirect: 'manual', headers: client.headers })
        expect(pulled.status).toBe(307)
        expect(await bytesOf(await fetch(pulled.headers.get('location')!))).toEqual(open.layerBytes)
      })
    })

    describe(`blob redirects: ${label}`, () => {
      it('redirects a blob GET (307) to the signed URL of the location nearest the client', async () => {
        const name = uniqueName('nearest')
        const bytes = randomBytes(2048)
        const blob = await pushBlob(origin.url, name, bytes)
        await waitForReplication(origin.db)
        await edge.settle()
        const nearest = nearestFirst(client.position, origin.config.locations)[0]!
        const res = await fetch(at(edge.url, `/v2/${name}/blobs/${blob.digest}`), { redirect: 'manual', headers: client.headers })
        expect(res.status).toBe(307)
        expect(res.headers.get('meridian-geo-source')).toBe(client.source)
        expect(res.headers.get('meridian-served-from')).toBe(nearest.id)
        const location = res.headers.get('location')!
        expect(location.startsWith(`${origin.url}/`)).toBe(true)
        const followed = await fetch(location)
        expect(followed.status).toBe(200)
        expect(await bytesOf(followed)).toEqual(bytes)
      })
    })
  })
}
