// The origin's token endpoint (distribution token.md, oauth.md) through app.request(), over a real
// database: anonymous, Basic and OAuth2 logins, refresh tokens, partial grants, refusals, the
// failed-login limit, and tokens verified with jose against the served JWKS.

import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { openDatabase, closeDatabase, type Db } from '../../db/client.ts'
import { createAccount, setAccountDisabled } from '../../db/queries/accounts.ts'
import { grantActions } from '../../db/queries/grants.ts'
import { setRepositoryPublic } from '../../db/queries/visibility.ts'
import { refreshTokens } from '../../db/schema.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'
import { hashSecret } from '../../origin/auth/passwords.ts'
import { createKeyStore, type KeyStore } from '../../origin/auth/signing-keys.ts'
import { createLoginLimiter } from '../../origin/auth/login-limit.ts'
import { createTokenRoutes, type TokenRouteDeps } from '../../origin/auth/token-routes.ts'
import { createLogger } from '../../storage/log.ts'
import { JWKS_PATH, TOKEN_PATH, type AuthSettings, type Jwks } from '../../oci/auth/types.ts'
import { createTokenVerifier } from '../../oci/auth/verify.ts'
import { createJwksKeySource } from '../../oci/auth/jwks-cache.ts'

const settings: AuthSettings = { realm: 'http://registry.test/v2/token', service: 'registry.test', issuer: 'meridian:registry.test' }
const PASSWORD = 'alice-password-1'
const ROBOT_SECRET = 'robot-secret-abcdefghijklmnopqrstuvwxyz'

let dir: string
let db: Db
let keys: KeyStore
const logLines: string[] = []
let app: ReturnType<typeof createTokenRoutes>

function routes(extra: Partial<TokenRouteDeps> = {}) {
  return createTokenRoutes({
    db, keys, settings, log: createLogger({ level: 'debug', write: (l) => logLines.push(l) }),
    address: (c) => c.req.header('x-test-address') ?? '192.0.2.1', ...extra,
  })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meridian-token-'))
  db = await openDatabase(await testDatabaseUrl(dir))
  keys = createKeyStore(db)
  const [alicePw, robotPw] = await Promise.all([hashSecret(PASSWORD), hashSecret(ROBOT_SECRET)])
  const alice = await createAccount(db, { name: 'alice', kind: 'user', secretHash: alicePw })
  await grantActions(db, alice.id, 'team/*', ['pull'])
  await grantActions(db, alice.id, 'team/app', ['push'])
  const robot = await createAccount(db, { name: 'team+ci', kind: 'robot', secretHash: robotPw })
  await grantActions(db, robot.id, 'team/app', ['push'])
  await createAccount(db, { name: 'bob', kind: 'user', secretHash: alicePw })
  await createAccount(db, { name: 'root', kind: 'user', secretHash: alicePw, isAdmin: true })
  await setAccountDisabled(db, 'bob', true)
  await setRepositoryPublic(db, 'pub/site', true)
  app = routes()
})
afterAll(async () => {
  await closeDatabase(db)
  rmSync(dir, { recursive: true, force: true })
})

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` })
const query = (params: Array<[string, string]>) => `${TOKEN_PATH}?${new URLSearchParams([['service', settings.service], ...params])}`
const form = (params: Record<string, string>) => ({
  method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString(),
})

async function verified(token: string) {
  const jwks = await (await app.request(JWKS_PATH)).json() as JSONWebKeySet
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
    algorithms: ['ES256'], issuer: settings.issuer, audience: settings.service,
  })
  return { payload, protectedHeader }
}

async function tokenOf(res: Response) {
  expect(res.status).toBe(200)
  const body = await res.json() as { token: string; access_token: string; expires_in: number; issued_at: string; refresh_token?: string; scope?: string }
  expect(body.access_token).toBe(body.token)
  return { body, ...(await verified(body.token)) }
}

describe('GET token (token.md)', () => {
  it('issues an anonymous ES256 token, verifiable against the served JWKS, with every claim', async () => {
    const res = await app.request(query([]))
    expect(res.headers.get('cache-control')).toBe('no-store')
    const { body, payload, protectedHeader } = await tokenOf(res)
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: (await keys.signingKey()).kid, typ: 'JWT' })
    expect(payload).toMatchObject({ iss: settings.issuer, sub: '', aud: settings.service, access: [] })
    expect(payload.exp! - payload.iat!).toBe(300)
    expect(payload.nbf).toBe(payload.iat)
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(body.expires_in).toBe(300)
    expect(body.issued_at).toBe(new Date(payload.iat! * 1000).toISOString())
    expect(body.refresh_token).toBeUndefined()
  })

  it('grants anonymous callers pull on a public repository and the catalog, nothing private', async () => {
    const { payload } = await tokenOf(await app.request(query([
      ['scope', 'repository:pub/site:pull,push'], ['scope', 'repository:team/app:pull'], ['scope', 'registry:catalog:*'],
    ])))
    expect(payload.access).toEqual([
      { type: 'repository', name: 'pub/site', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ])
  })

  it('grants an account the intersection of its scopes and its grants (partial grants are no error)', async () => {
    const { payload } = await tokenOf(await app.request(query([
      ['scope', 'repository:team/app:pull,push,delete'], ['scope', 'repository:team/web:pull,push'], ['scope', 'repository:other/x:pull'],
      ['account', 'alice'], ['client_id', 'docker'],
    ]), { headers: basic('alice', PASSWORD) }))
    expect(payload.sub).toBe('alice')
    expect(payload.access).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'team/web', actions: ['pull'] },
    ])
  })

  it('logs a robot in with its secret; offline_token=true adds a refresh token', async () => {
    const { body, payload } = await tokenOf(await app.request(query([['scope', 'repository:team/app:push'], ['offline_token', 'true']]), { headers: basic('team+ci', ROBOT_SECRET) }))
    expect(payload).toMatchObject({ sub: 'team+ci', access: [{ type: 'repository', name: 'team/app', actions: ['push'] }] })
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('refuses a wrong password, an unknown account and malformed credentials with 401 and a Basic challenge', async () => {
    for (const headers of [basic('alice', 'wrong'), basic('nobody', PASSWORD), { Authorization: 'Basic !!!' }, { Authorization: 'Bearer abc' }]) {
      const res = await app.request(query([['scope', 'repository:team/app:pull']]), { headers: { ...headers, 'x-test-address': '198.51.100.7' } })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe(`Basic realm="${settings.realm}"`)
      expect((await res.json() as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNAUTHORIZED')
    }
  })

  it('gives a disabled account nothing, even with the right password', async () => {
    const res = await app.request(query([]), { headers: basic('bob', PASSWORD) })
    expect(res.status).toBe(403)
    expect((await res.json() as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('DENIED')
  })

  it('answers 400 with an OAuth error for another service or an account not matching the credentials', async () => {
    const wrong = await app.request(`${TOKEN_PATH}?service=elsewhere.test`)
    expect(wrong.status).toBe(400)
    expect(await wrong.json()).toEqual({ error: 'invalid_request', error_description: 'unknown service' })
    const mismatch = await app.request(query([['account', 'mallory']]), { headers: basic('alice', PASSWORD) })
    expect(mismatch.status).toBe(400)
  })
})

describe('the admin API scope registry:admin:*', () => {
  const adminApi = { type: 'registry', name: 'admin', actions: ['*'] }
  it('is granted to an admin account only when asked for by name', async () => {
    const pull = await tokenOf(await app.request(query([['scope', 'repository:any/thing:pull']]), { headers: basic('root', PASSWORD) }))
    expect(pull.payload.access).toEqual([{ type: 'repository', name: 'any/thing', actions: ['pull'] }])
    const none = await tokenOf(await app.request(query([]), { headers: basic('root', PASSWORD) }))
    expect(none.payload.access).toEqual([])
    const asked = await tokenOf(await app.request(query([['scope', 'repository:any/thing:pull'], ['scope', 'registry:admin:*']]), { headers: basic('root', PASSWORD) }))
    expect(asked.payload.access).toEqual([{ type: 'repository', name: 'any/thing', actions: ['pull'] }, adminApi])
    const posted = await tokenOf(await app.request(TOKEN_PATH, form({ grant_type: 'password', username: 'root', password: PASSWORD, service: settings.service, scope: 'registry:admin:*' })))
    expect(posted.body.scope).toBe('registry:admin:*')
  })

  it('is left out, the rest granted, for anyone else', async () => {
    const alice = await tokenOf(await app.request(query([['scope', 'repository:team/app:pull'], ['scope', 'registry:admin:*']]), { headers: basic('alice', PASSWORD) }))
    expect(alice.payload.access).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull'] }])
    const anonymous = await tokenOf(await app.request(query([['scope', 'registry:admin:*']])))
    expect(anonymous.payload.access).toEqual([])
  })
})

describe('POST token (oauth.md)', () => {
  it('logs in with grant_type=password, access_type=offline giving a refresh token stored only as its SHA-256', async () => {
    const { body, payload } = await tokenOf(await app.request(TOKEN_PATH, form({
      grant_type: 'password', username: 'alice', password: PASSWORD, service: settings.service, client_id: 'podman',
      access_type: 'offline', scope: 'repository:team/app:pull,push repository:other/x:pull',
    })))
    expect(payload.access).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }])
    expect(body.scope).toBe('repository:team/app:pull,push')
    const stored = await db.select().from(refreshTokens).all()
    expect(stored.map((r) => r.tokenHash)).toContain(createHash('sha256').update(body.refresh_token!).digest('hex'))
    expect(stored.map((r) => r.tokenHash)).not.toContain(body.refresh_token)
  })

  it('refreshes: a new access token for other scopes, the same refresh token', async () => {
    const first = await tokenOf(await app.request(TOKEN_PATH, form({ grant_type: 'password', username: 'alice', password: PASSWORD, service: settings.service, access_type: 'offline' })))
    const refresh = first.body.refresh_token!
    const { body, payload } = await tokenOf(await app.request(TOKEN_PATH, form({
      grant_type: 'refresh_token', refresh_token: refresh, service: settings.service, client_id: 'docker', scope: 'repository:team/web:pull',
    })))
    expect(payload).toMatchObject({ sub: 'alice', access: [{ type: 'repository', name: 'team/web', actions: ['pull'] }] })
    expect(body.refresh_token).toBe(refresh)
    // Bound to its service: another one is refused before the token is looked at.
    expect((await app.request(TOKEN_PATH, form({ grant_type: 'refresh_token', refresh_token: refresh, service: 'elsewhere.test' }))).status).toBe(400)
  })

  it('refuses an unknown or expired refresh token with 401, and a disabled account\'s with 403', async () => {
    const unknown = await app.request(TOKEN_PATH, form({ grant_type: 'refresh_token', refresh_token: 'made-up', service: settings.service }))
    expect(unknown.status).toBe(401)
    expect(unknown.headers.get('www-authenticate')).toBeNull()

    const { body } = await tokenOf(await app.request(TOKEN_PATH, form({ grant_type: 'password', username: 'team+ci', password: ROBOT_SECRET, service: settings.service, access_type: 'offline' })))
    const later = routes({ now: () => Date.now() + 31 * 24 * 3600_000 })
    expect((await later.request(TOKEN_PATH, form({ grant_type: 'refresh_token', refresh_token: body.refresh_token!, service: settings.service }))).status).toBe(401)

    await setAccountDisabled(db, 'team+ci', true)
    try {
      expect((await app.request(TOKEN_PATH, form({ grant_type: 'refresh_token', refresh_token: body.refresh_token!, service: settings.service }))).status).toBe(403)
    } finally {
      await setAccountDisabled(db, 'team+ci', false)
    }
  })

  it('answers OAuth errors for a missing service, an unsupported grant or another content type', async () => {
    const cases: Array<[RequestInit, string]> = [
      [form({ grant_type: 'password', username: 'alice', password: PASSWORD }), 'invalid_request'],
      [form({ grant_type: 'client_credentials', service: settings.service }), 'unsupported_grant_type'],
      [form({ service: settings.service }), 'invalid_request'],
      [form({ grant_type: 'password', service: settings.service }), 'invalid_request'],
      [{ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }, 'invalid_request'],
    ]
    for (const [init, error] of cases) {
      const res = await app.request(TOKEN_PATH, init)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error })
    }
  })

  it('refuses a form over 64 KiB, even one sent without a length', async () => {
    const big = `grant_type=password&service=${settings.service}&username=alice&password=${'x'.repeat(70_000)}`
    const stream = new ReadableStream<Uint8Array>({ start(c) { c.enqueue(new TextEncoder().encode(big)); c.close() } })
    const res = await app.request(TOKEN_PATH, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: stream, duplex: 'half' } as RequestInit)
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'invalid_request' })
  })

  it('refuses a wrong password with 401 UNAUTHORIZED and no Basic challenge', async () => {
    const res = await app.request(TOKEN_PATH, form({ grant_type: 'password', username: 'alice', password: 'nope', service: settings.service }))
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBeNull()
  })
})

describe('failed-login limit', () => {
  it('answers 429 TOOMANYREQUESTS with Retry-After once an account has failed too often, even for the right password', async () => {
    const limited = routes({ limiter: createLoginLimiter({ perAccount: 2, perAddress: 100 }) })
    for (let i = 0; i < 2; i++) expect((await limited.request(query([]), { headers: basic('alice', `wrong${i}`) })).status).toBe(401)
    const res = await limited.request(query([]), { headers: { ...basic('alice', PASSWORD), 'x-test-address': '203.0.113.9' } })
    expect(res.status).toBe(429)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(800)
    expect((await res.json() as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('TOOMANYREQUESTS')
    // Another account is unaffected.
    expect((await limited.request(query([]), { headers: basic('team+ci', ROBOT_SECRET) })).status).toBe(200)
  })

  it('limits one address spraying accounts, and refresh-token guessing from it', async () => {
    const limited = routes({ limiter: createLoginLimiter({ perAccount: 100, perAddress: 2 }) })
    const from = { 'x-test-address': '203.0.113.50' }
    expect((await limited.request(query([]), { headers: { ...basic('x1', 'a'), ...from } })).status).toBe(401)
    expect((await limited.request(TOKEN_PATH, { ...form({ grant_type: 'refresh_token', refresh_token: 'guess', service: settings.service }), headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...from } })).status).toBe(401)
    expect((await limited.request(query([]), { headers: { ...basic('alice', PASSWORD), ...from } })).status).toBe(429)
    expect((await limited.request(query([]), { headers: basic('alice', PASSWORD) })).status).toBe(200)
  })

  it('counts an IPv6 client by its /64: rotating through the prefix does not reset the limit', async () => {
    const limited = routes({ limiter: createLoginLimiter({ perAccount: 100, perAddress: 2 }) })
    const from = (address: string) => ({ 'x-test-address': address })
    expect((await limited.request(query([]), { headers: { ...basic('x1', 'a'), ...from('2001:db8:5:6::1') } })).status).toBe(401)
    expect((await limited.request(query([]), { headers: { ...basic('x2', 'a'), ...from('2001:db8:5:6:ffff::2') } })).status).toBe(401)
    expect((await limited.request(query([]), { headers: { ...basic('alice', PASSWORD), ...from('2001:db8:5:6:abcd::3') } })).status).toBe(429)
    expect((await limited.request(query([]), { headers: { ...basic('alice', PASSWORD), ...from('2001:db8:5:7::1') } })).status).toBe(200)
  })
})

describe('JWKS and logs', () => {
  it('keeps its spec error answers when mounted at / in another app', async () => {
    const outer = new Hono()
    outer.route('/', app)
    outer.onError(() => new Response('outer', { status: 500 }))
    const res = await outer.request(query([]), { headers: basic('alice', 'wrong-again') })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /)
    expect((await outer.request(JWKS_PATH)).status).toBe(200)
  })

  it('serves the public keys with Cache-Control max-age=60, no private part', async () => {
    const res = await app.request(JWKS_PATH)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=60')
    const jwks = await res.json() as { keys: Array<Record<string, unknown>> }
    expect(jwks.keys.length).toBeGreaterThan(0)
    for (const k of jwks.keys) {
      expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' })
      expect(k).not.toHaveProperty('d')
    }
  })

  it('a token signed before a rotation still verifies against the served JWKS', async () => {
    const { body } = await tokenOf(await app.request(query([])))
    const before = decodeProtectedHeader(body.token).kid
    const rotated = await keys.rotate()
    // The new key is published at once but signs only from signsAt (edges fetch it first).
    expect(Date.parse(rotated.signsAt)).toBeGreaterThan(Date.now())
    expect(((await (await app.request(JWKS_PATH)).json()) as Jwks).keys.map((k) => k.kid)).toContain(rotated.kid)
    const after = await tokenOf(await app.request(query([])))
    expect(after.protectedHeader.kid).toBe(before)
    await verified(body.token)
  })

  it('issues tokens the registry verifiers accept: the origin\'s own key source and an edge\'s JWKS cache', async () => {
    const { body } = await tokenOf(await app.request(query([['scope', 'repository:team/app:pull,push']]), { headers: basic('alice', PASSWORD) }))
    const atOrigin = createTokenVerifier({ keys: keys.keySource, issuer: settings.issuer, audience: settings.service })
    const atEdge = createTokenVerifier({
      keys: createJwksKeySource({ fetchJwks: async () => await (await app.request(JWKS_PATH)).json() as Jwks }),
      issuer: settings.issuer, audience: settings.service,
    })
    for (const verify of [atOrigin, atEdge]) {
      expect(await verify(body.token)).toMatchObject({ sub: 'alice', access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }] })
    }
    const otherService = createTokenVerifier({ keys: keys.keySource, issuer: settings.issuer, audience: 'elsewhere.test' })
    await expect(otherService(body.token)).rejects.toThrow()
  })

  it('never writes a password, secret or token into a log line', async () => {
    const { body } = await tokenOf(await app.request(TOKEN_PATH, form({ grant_type: 'password', username: 'alice', password: PASSWORD, service: settings.service, access_type: 'offline' })))
    await app.request(query([]), { headers: basic('alice', 'typo-secret-xyz') })
    await app.request(query([]), { headers: basic('my-password-as-name', 'x') })
    const all = logLines.join('\n')
    expect(all).toContain('token issued')
    expect(all).toContain('login failed')
    for (const secret of [PASSWORD, ROBOT_SECRET, 'typo-secret-xyz', 'my-password-as-name', body.token, body.refresh_token!]) {
      expect(all).not.toContain(secret)
    }
  })
})
