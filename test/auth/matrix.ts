// The shared auth matrix (issue #9 "Proof"; like test/pull/pull-suite.ts): one set of refusals
// every protected side must make, the origin itself and the edge in every runtime. Images and
// accounts are set up at the origin; every request under test goes to `target.url`. Each refusal
// must be the spec's 401 UNAUTHORIZED JSON with a Bearer challenge naming the origin's token
// endpoint, the service and the scope the request needed, plus `error="invalid_token"` (a token
// that does not verify) or `error="insufficient_scope"` (one that verifies but does not cover the
// request). After every test the origin's database and storage are exactly as before.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../db/client.ts'
import { createAccount, type AccountRow } from '../../db/queries/accounts.ts'
import { grantActions } from '../../db/queries/grants.ts'
import { setRepositoryPublic } from '../../db/queries/visibility.ts'
import { JWKS_PATH, type Access } from '../../oci/auth/types.ts'
import { hashSecret } from '../../origin/auth/passwords.ts'
import { createKeyStore } from '../../origin/auth/signing-keys.ts'
import type { LocationSet } from '../../origin/locations.ts'
import { rawRequest } from '../helpers/raw-http.ts'
import { OCI_MANIFEST, at, randomBytes, sha256, utf8 } from '../helpers/registry-client.ts'
import { snapshotState, type StateSnapshot } from './matrix-state.ts'
import {
  claims, claimsOf, fetchJwks, fetchToken, hmacWithPublicKey, makeStrangerKey, parseChallenge, signEs256, unsignedToken,
  type ClaimsBase, type Credentials, type SigningKey,
} from './matrix-tokens.ts'

// No retry (CI retries failing tests once): a refusal that wrote something would, on a second
// attempt, compare against the state it left and pass. A security failure must fail.
const NO_RETRY = { retry: 0 }

/**
 * What the suite runs against. The origin must be fresh and have access control on: the suite
 * writes its accounts (`matrix-*`) and repositories (`matrix/*`) into it, and takes the origin's
 * signing key from its database to sign tokens the token endpoint would never issue.
 */
export interface AuthMatrixTarget {
  /** The origin, in this process: its token endpoint, its database and its storage. */
  origin: { url: string; db: Db; locations: LocationSet }
  /** Where every request under test goes: the origin again, or an edge in front of it. */
  url: string
  /** Resolves once everything done at the origin so far is visible at `url` (an edge's index). */
  settle(): Promise<void>
  close(): Promise<void>
}

type Refusal = 'invalid_token' | 'insufficient_scope' | null

const NS = 'matrix'
const PRIVATE = `${NS}/private`
const OTHER = `${NS}/other`
const PUBLIC = `${NS}/public`
const WRITABLE = `${NS}/writable`
/** Not WRITABLE, though a careless prefix match would say so. */
const STRETCHED = [`${WRITABLE}x`, `${WRITABLE}-2`, `${WRITABLE}/sub`, `${NS}/writ`]

const repo = (name: string, ...actions: string[]): Access => ({ type: 'repository', name, actions })
const scope = (name: string, actions: string) => `repository:${name}:${actions}`

export function defineAuthMatrix(label: string, start: () => Promise<AuthMatrixTarget>): void {
  describe(`auth matrix: ${label}`, NO_RETRY, () => {
    let t: AuthMatrixTarget
    let realm: string
    let service: string
    let issuer: string
    let before: StateSnapshot
    let realKey: SigningKey
    let realJwk: JsonWebKey & { kid: string }
    let stranger: SigningKey
    const accounts: Record<'admin' | 'reader' | 'writer', Credentials> = {
      admin: { user: 'matrix-admin', secret: 'admin-secret-0123456789' },
      reader: { user: 'matrix-reader', secret: 'reader-secret-0123456789' },
      writer: { user: 'matrix-writer', secret: 'writer-secret-0123456789' },
    }
    const images: Record<string, { manifest: string; layer: string; config: string }> = {}
    const tokens: Record<string, string> = {}

    beforeAll(async () => {
      t = await start()
      const { db } = t.origin
      const made: Record<string, AccountRow> = {}
      for (const [role, c] of Object.entries(accounts)) {
        made[role] = await createAccount(db, { name: c.user, kind: 'user', secretHash: await hashSecret(c.secret), isAdmin: role === 'admin' })
      }
      await grantActions(db, made.reader!.id, PRIVATE, ['pull'])
      await grantActions(db, made.writer!.id, WRITABLE, ['push'])
      await setRepositoryPublic(db, PUBLIC, true)

      // The challenge of the origin's ping names the realm and service every refusal must repeat.
      const ping = await fetch(at(t.origin.url, '/v2/'))
      await ping.body?.cancel()
      const challenge = parseChallenge(ping.headers.get('www-authenticate'))
      expect(ping.status, 'auth must be on at the origin').toBe(401)
      realm = challenge!.params.realm!
      service = challenge!.params.service!

      const admin = await fetchToken(realm, service, accounts.admin, [PRIVATE, OTHER, PUBLIC].map((n) => scope(n, 'pull,push')))
      issuer = claimsOf(admin).iss
      for (const name of [PRIVATE, OTHER, PUBLIC]) images[name] = await pushImageAs(t.origin.url, admin, name, 'v1')
      await t.settle()

      // The origin's own key (same table, so the same key its verifier trusts), and one it never saw.
      const current = await createKeyStore(db).signingKey()
      realKey = { kid: current.kid, key: current.key }
      const jwks = await fetchJwks(at(t.origin.url, JWKS_PATH))
      realJwk = jwks.keys.find((k) => k.kid === realKey.kid)!
      expect(realJwk, 'the signing key is in the JWKS').toBeTruthy()
      stranger = await makeStrangerKey()

      tokens.reader = await fetchToken(realm, service, accounts.reader, [scope(PRIVATE, 'pull'), 'registry:catalog:*'])
      tokens.readerAskingPush = await fetchToken(realm, service, accounts.reader, [scope(PRIVATE, 'pull,push,delete')])
      tokens.readerAskingOther = await fetchToken(realm, service, accounts.reader, [scope(OTHER, 'pull')])
      tokens.writer = await fetchToken(realm, service, accounts.writer, [scope(WRITABLE, 'pull,push'), scope(OTHER, 'pull')])
      // Names that start like a granted one, or sit below it: none of them is the grant's.
      tokens.writerStretching = await fetchToken(realm, service, accounts.writer, STRETCHED.map((n) => scope(n, 'pull,push')))
      tokens.anonymous = await fetchToken(realm, service, null, [scope(PRIVATE, 'pull'), scope(PUBLIC, 'pull'), 'registry:catalog:*'])
      before = await snapshotState(db, t.origin.locations)
    }, 60_000)
    afterAll(() => t?.close())
    afterEach(async () => {
      if (!before) return
      const after = await snapshotState(t.origin.db, t.origin.locations)
      const expected = before
      // A change is blamed on the test that made it alone: the next test compares with the new state.
      before = after
      expect(after, 'the database and storage are unchanged').toEqual(expected)
    })

    function send(method: string, path: string, token: string | null, init: RequestInit = {}): Promise<Response> {
      const headers = new Headers(init.headers)
      if (token !== null) headers.set('authorization', `Bearer ${token}`)
      return fetch(at(t.url, path), { ...init, method, headers, redirect: 'manual' })
    }

    /** A 401 with the spec body (none for HEAD) and a challenge for exactly `scopes` (none: the ping). */
    async function expectRefused(res: Response, scopes: string[], error: Refusal, what: string, method = 'GET'): Promise<void> {
      const text = await res.text()
      expect(`${res.status} ${text}`, what).toMatch(/^401 /)
      const challenge = parseChallenge(res.headers.get('www-authenticate'))
      expect(challenge?.scheme, `${what}: Bearer challenge`).toBe('Bearer')
      expect(challenge!.params.realm, what).toBe(realm)
      expect(challenge!.params.service, what).toBe(service)
      expect((challenge!.params.scope ?? '').split(' ').filter(Boolean).sort(), `${what}: scope`).toEqual([...scopes].sort())
      expect(challenge!.params.error, `${what}: error`).toBe(error ?? undefined)
      if (method === 'HEAD') return
      const body = JSON.parse(text) as { errors: Array<{ code: string }> }
      expect(body.errors.map((e) => e.code), what).toEqual(['UNAUTHORIZED'])
    }

    /** Every kind of request a pull, a push and a delete make, against `name`. */
    function requests(name: string) {
      const { manifest, layer } = images[name] ?? images[PRIVATE]!
      const blob = randomBytes(32)
      return {
        pull: [
          ['GET', `/v2/${name}/manifests/v1`], ['HEAD', `/v2/${name}/manifests/v1`], ['GET', `/v2/${name}/manifests/${manifest}`],
          ['GET', `/v2/${name}/blobs/${layer}`], ['HEAD', `/v2/${name}/blobs/${layer}`], ['GET', `/v2/${name}/tags/list`],
          ['GET', `/v2/${name}/referrers/${manifest}`],
        ] as Array<[string, string]>,
        push: [
          ['POST', `/v2/${name}/blobs/uploads/`, {}],
          ['POST', `/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } }],
          ['PATCH', `/v2/${name}/blobs/uploads/00000000-0000-4000-8000-000000000000`, { body: blob, headers: { 'content-type': 'application/octet-stream' } }],
          ['PUT', `/v2/${name}/manifests/v2`, { body: utf8(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: layer, size: 1 }, layers: [] })), headers: { 'content-type': OCI_MANIFEST } }],
        ] as Array<[string, string, RequestInit]>,
        delete: [['DELETE', `/v2/${name}/manifests/${manifest}`], ['DELETE', `/v2/${name}/blobs/${layer}`]] as Array<[string, string]>,
      }
    }

    /** Sends every pull, push and delete of `name` with `token`; each must be refused. */
    async function expectAllRefused(name: string, token: string | null, error: Refusal, label: string, only?: Array<'pull' | 'push' | 'delete'>) {
      const r = requests(name)
      const want = { pull: [scope(name, 'pull')], push: [scope(name, 'pull,push')], delete: [scope(name, 'delete')] }
      for (const kind of only ?? (['pull', 'push', 'delete'] as const)) {
        for (const [method, path, init] of r[kind] as Array<[string, string, RequestInit?]>) {
          await expectRefused(await send(method, path, token, init), want[kind], error, `${label}: ${method} ${path}`, method)
        }
      }
    }

    /** The origin's claims for `access`, valid now, with any field overridden. */
    function base(access: Access[] = [repo(PRIVATE, 'pull', 'push', 'delete')]): ClaimsBase {
      return { issuer, service, subject: accounts.admin.user, access }
    }

    it('lets a token it issued read a private repository (the control for every refusal below)', async () => {
      const res = await send('GET', `/v2/${PRIVATE}/manifests/v1`, tokens.reader!, { headers: { accept: OCI_MANIFEST } })
      expect(res.status, await res.clone().text()).toBe(200)
      expect(res.headers.get('docker-content-digest')).toBe(images[PRIVATE]!.manifest)
      await res.body?.cancel()
      const forged = await signEs256(claims(base()), realKey.key, realKey.kid)
      const head = await send('HEAD', `/v2/${PRIVATE}/manifests/v1`, forged)
      expect(head.status, 'claims signed with the real key verify').toBe(200)
    })

    it('challenges anonymous requests to a private repository, and the ping without a scope', async () => {
      await expectRefused(await send('GET', '/v2/', null), [], null, 'GET /v2/')
      await expectAllRefused(PRIVATE, null, null, 'anonymous')
      // An anonymous token (sub "") covers nothing private: the endpoint granted what it could.
      expect(claimsOf(tokens.anonymous!).sub).toBe('')
      await expectAllRefused(PRIVATE, tokens.anonymous!, 'insufficient_scope', 'anonymous token', ['pull'])
    })

    it('serves a public repository anonymously but refuses anonymous writes to it', async () => {
      const res = await send('GET', `/v2/${PUBLIC}/manifests/v1`, null, { headers: { accept: OCI_MANIFEST } })
      expect(res.status).toBe(200)
      await res.body?.cancel()
      await expectAllRefused(PUBLIC, null, null, 'anonymous, public repository', ['push', 'delete'])
    })

    it('treats Basic credentials at a registry endpoint as no token', async () => {
      const basic = `Basic ${Buffer.from(`${accounts.admin.user}:${accounts.admin.secret}`).toString('base64')}`
      const res = await fetch(at(t.url, `/v2/${PRIVATE}/manifests/v1`), { headers: { authorization: basic } })
      await expectRefused(res, [scope(PRIVATE, 'pull')], null, 'Basic credentials')
    })

    it('refuses a token for another repository', async () => {
      await expectAllRefused(OTHER, tokens.reader!, 'insufficient_scope', 'reader on another repository')
      // Asking for it does not help: the endpoint grants nothing on OTHER to the reader.
      expect(claimsOf(tokens.readerAskingOther!).access.filter((a) => a.name === OTHER && a.actions.length > 0)).toEqual([])
      await expectAllRefused(OTHER, tokens.readerAskingOther!, 'insufficient_scope', 'reader asking for another repository', ['pull'])
    })

    it('refuses pushes and deletes with a pull-only token, even one that asked for more', async () => {
      expect(claimsOf(tokens.readerAskingPush!).access).toEqual([repo(PRIVATE, 'pull')])
      await expectAllRefused(PRIVATE, tokens.readerAskingPush!, 'insufficient_scope', 'pull-only token', ['push', 'delete'])
    })

    // Each of these is a token the verifier must refuse as invalid, whatever its claims grant.
    const invalid: Record<string, () => Promise<string[]>> = {
      'an expired token (past the 30 s skew)': async () => {
        const now = Math.floor(Date.now() / 1000)
        return [await signEs256(claims(base(), { iat: now - 900, nbf: now - 900, exp: now - 120 }), realKey.key, realKey.kid)]
      },
      'a token not yet valid (past the 30 s skew)': async () => {
        const now = Math.floor(Date.now() / 1000)
        return [await signEs256(claims(base(), { iat: now, nbf: now + 120, exp: now + 900 }), realKey.key, realKey.kid)]
      },
      'a forged signature (another key, the real kid)': async () => [await signEs256(claims(base()), stranger.key, realKey.kid)],
      'an unknown kid': async () => [await signEs256(claims(base()), stranger.key, stranger.kid)],
      'a wrong audience': async () => [await signEs256(claims(base(), { aud: 'elsewhere.example' }), realKey.key, realKey.kid)],
      'a wrong issuer': async () => [await signEs256(claims(base(), { iss: 'meridian:elsewhere.example' }), realKey.key, realKey.kid)],
      'alg none': async () => [unsignedToken(claims(base()), realKey.kid)],
      'HS256 keyed with the public key': async () => hmacWithPublicKey(claims(base()), realJwk),
      'a token another registry issued for its own service': async () => {
        const elsewhere = { issuer: 'meridian:elsewhere.example', service: 'elsewhere.example', subject: accounts.admin.user, access: base().access }
        return [await signEs256(claims(elsewhere), stranger.key, stranger.kid)]
      },
      'a real token whose claims were edited': async () => {
        const [header, , signature] = tokens.reader!.split('.')
        const edited = { ...claimsOf(tokens.reader!), access: base().access }
        return [`${header}.${Buffer.from(JSON.stringify(edited)).toString('base64url')}.${signature}`]
      },
      'garbage': async () => ['not-a-jwt', 'a.b.c', `${tokens.reader!.split('.').slice(0, 2).join('.')}.`],
    }
    for (const [name, make] of Object.entries(invalid)) {
      it(`refuses ${name} with error="invalid_token"`, async () => {
        for (const token of await make()) {
          await expectAllRefused(PRIVATE, token, 'invalid_token', name, ['pull'])
          const [method, path, init] = requests(PRIVATE).push[1]!
          await expectRefused(await send(method, path, token, init), [scope(PRIVATE, 'pull,push')], 'invalid_token', `${name}: ${method} ${path}`)
        }
      })
    }

    it('refuses a token the token endpoint issued for another service', async () => {
      let token: string
      try {
        token = await fetchToken(realm, 'elsewhere.example', accounts.admin, [scope(PRIVATE, 'pull')])
      } catch (err) {
        expect(String(err)).toMatch(/token endpoint answered 4\d\d/)
        return // refusing to issue it is as good
      }
      await expectAllRefused(PRIVATE, token, 'invalid_token', 'token for another service', ['pull'])
    })

    it('refuses a cross-repository mount from a repository the token cannot pull', async () => {
      expect(claimsOf(tokens.writer!).access.filter((a) => a.name === OTHER && a.actions.length > 0)).toEqual([])
      const { layer } = images[OTHER]!
      const res = await send('POST', `/v2/${WRITABLE}/blobs/uploads/?mount=${layer}&from=${OTHER}`, tokens.writer!)
      await expectRefused(res, [scope(WRITABLE, 'pull,push'), scope(OTHER, 'pull')], 'insufficient_scope', 'mount from=')
      const head = await send('HEAD', `/v2/${WRITABLE}/blobs/${layer}`, tokens.writer!)
      expect(head.status, 'the blob was not linked into the writable repository').toBe(404)
    })

    it('does not stretch a grant to names that start like it or sit below it', async () => {
      expect(claimsOf(tokens.writerStretching!).access.filter((a) => a.actions.length > 0)).toEqual([])
      for (const name of STRETCHED) await expectAllRefused(name, tokens.writerStretching!, 'insufficient_scope', `grant on ${WRITABLE}, asked for ${name}`, ['pull', 'push'])
    })

    it('is not fooled by encoded or dotted paths aiming at another repository', async () => {
      const { manifest, layer } = images[OTHER]!
      const paths = [
        `/v2/${PRIVATE}/../other/manifests/v1`, `/v2/${PRIVATE}/%2e%2e/other/manifests/v1`, `/v2/${NS}%2Fother/manifests/v1`,
        `/v2/${NS}/%6fther/manifests/v1`, `/%76%32/${OTHER}/manifests/v1`, `/v2//${OTHER}/manifests/v1`, `/v2/${OTHER}/manifests/v1?x=/v2/${PRIVATE}/`,
        `/v2/${OTHER}/blobs/${layer}#/v2/${PRIVATE}/`, `/v2/${OTHER}/manifests/${manifest}/`, `/V2/${OTHER}/manifests/v1`,
      ]
      const host = new URL(t.url).host
      for (const path of paths) {
        // Not half-closed (end: false): Node's server drops a request whose client half-closes
        // before the answer is written, and the answer waits for the database (on PostgreSQL, I/O).
        const res = await rawRequest(t.url, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${tokens.reader}\r\nConnection: close\r\n\r\n`, { end: false })
        // Refused, or not found, or not a registry path at all: never the other repository's content.
        expect(res.status, `${path}: ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400)
        expect(res.body, path).not.toContain(images[OTHER]!.config)
        if (res.status === 401) expect(JSON.parse(res.body).errors[0].code, path).toBe('UNAUTHORIZED')
      }
    })

    it('lists in the catalog only repositories the caller may pull', async () => {
      await expectRefused(await send('GET', '/v2/_catalog', null), ['registry:catalog:*'], null, 'anonymous catalog without a token')
      await expectRefused(await send('GET', '/v2/_catalog', tokens.writer!), ['registry:catalog:*'], 'insufficient_scope', 'catalog without its scope')
      const listed = async (token: string) => {
        const res = await send('GET', '/v2/_catalog?n=1000', token)
        expect(res.status).toBe(200)
        const names = ((await res.json()) as { repositories: string[] }).repositories
        return names.filter((n) => n.startsWith(`${NS}/`)).sort()
      }
      expect(await listed(tokens.reader!)).toEqual([PRIVATE, PUBLIC].sort())
      expect(await listed(tokens.anonymous!)).toEqual([PUBLIC])
    })
  })
}

/** Pushes a one-layer image with a bearer token (monolithic blob uploads, then the manifest). */
async function pushImageAs(url: string, token: string, name: string, tag: string): Promise<{ manifest: string; layer: string; config: string }> {
  const authorization = `Bearer ${token}`
  const blobs: Array<{ digest: string; size: number }> = []
  for (const bytes of [utf8(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: name })), randomBytes(256)]) {
    const digest = sha256(bytes)
    const res = await fetch(at(url, `/v2/${name}/blobs/uploads/?digest=${digest}`), { method: 'POST', headers: { authorization, 'content-type': 'application/octet-stream' }, body: bytes })
    expect(res.status, `push blob to ${name}: ${await res.text()}`).toBe(201)
    blobs.push({ digest, size: bytes.byteLength })
  }
  const [config, layer] = blobs as [{ digest: string; size: number }, { digest: string; size: number }]
  const manifest = utf8(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  }))
  const res = await fetch(at(url, `/v2/${name}/manifests/${tag}`), { method: 'PUT', headers: { authorization, 'content-type': OCI_MANIFEST }, body: manifest })
  expect(res.status, `push manifest to ${name}: ${await res.text()}`).toBe(201)
  return { manifest: sha256(manifest), layer: layer.digest, config: config.digest }
}
