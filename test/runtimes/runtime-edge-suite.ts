// What every runtime's edge test runs: the behavioural pull suite (test/pull/pull-suite.ts) against
// the edge running in that runtime as a child process, and the redirect a blob pull is for: a 307
// to the signed URL of the location nearest the client, not everything answered by the origin.
// One origin and one edge per file, shared by both describes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { definePullSuite } from '../pull/pull-suite.ts'
import { startRedirectingOrigin } from '../helpers/edge.ts'
import { runtimeTestsEnabled, startRuntimeEdge, type EdgeRuntimeName, type RuntimeEdge } from '../helpers/runtime-edge.ts'
import { waitForReplication } from '../helpers/replication.ts'
import { at, bytesOf, pushBlob, randomBytes, uniqueName } from '../helpers/registry-client.ts'
import type { TestOrigin } from '../helpers/origin.ts'
import { nearestFirst } from '../../storage/distance.ts'
import { setVisibility } from '../feed/visibility.ts'
import { challengeOf, newKey, pull, settingsFor, signToken, startJwksServer } from '../edge/auth-kit.ts'

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
      let secured: RuntimeEdge
      let jwks: Awaited<ReturnType<typeof startJwksServer>>
      let key: Awaited<ReturnType<typeof newKey>>
      beforeAll(async () => {
        key = await newKey()
        jwks = await startJwksServer(() => ({ keys: [key.publicJwk] }))
        secured = await startRuntimeEdge(runtime, origin, { token, region: `auth-${runtime}`, auth: settingsFor(origin.url), jwksUrl: jwks.url })
      }, 120_000)
      afterAll(async () => {
        await secured?.close()
        await jwks?.close()
      })

      it('refuses an anonymous pull of a private repository (401 naming the realm), serves a valid token and a public repository', async () => {
        const settings = settingsFor(origin.url)
        const privateName = uniqueName('private')
        const publicName = uniqueName('public')
        const bytes = randomBytes(1024)
        const secret = await pushBlob(origin.url, privateName, bytes)
        const open = await pushBlob(origin.url, publicName, bytes)
        setVisibility(origin.db, publicName, true)
        await waitForReplication(origin.db)
        await secured.settle()

        const anonymous = await fetch(at(secured.url, `/v2/${privateName}/blobs/${secret.digest}`), { redirect: 'manual', headers: client.headers })
        expect(anonymous.status).toBe(401)
        expect(challengeOf(anonymous)).toEqual({ realm: settings.realm, service: settings.service, scope: `repository:${privateName}:pull` })
        await anonymous.body?.cancel()

        const token = await signToken(key, settings, { access: [pull(privateName)] })
        const allowed = await fetch(at(secured.url, `/v2/${privateName}/blobs/${secret.digest}`), { redirect: 'manual', headers: { ...client.headers, authorization: `Bearer ${token}` } })
        expect(allowed.status).toBe(307)
        expect(await bytesOf(await fetch(allowed.headers.get('location')!))).toEqual(bytes)

        const forged = await signToken(await newKey(), settings, { access: [pull(privateName)], kid: key.kid })
        const refused = await fetch(at(secured.url, `/v2/${privateName}/blobs/${secret.digest}`), { redirect: 'manual', headers: { authorization: `Bearer ${forged}` } })
        expect(refused.status).toBe(401)
        expect(challengeOf(refused).error).toBe('invalid_token')
        await refused.body?.cancel()

        const head = await fetch(at(secured.url, `/v2/${publicName}/blobs/${open.digest}`), { method: 'HEAD', headers: client.headers })
        expect(head.status).toBe(200)
        const pulled = await fetch(at(secured.url, `/v2/${publicName}/blobs/${open.digest}`), { redirect: 'manual', headers: client.headers })
        expect(pulled.status).toBe(307)
        await pulled.body?.cancel()
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
