import { Hono, type Context } from 'hono'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ociError, renderError } from '../errors.ts'
import { createLogger } from '../../storage/log.ts'
import { callerOf, createAccessGuard } from './guard.ts'
import { formatScope } from './scope.ts'
import { createTokenVerifier, type VerifyToken } from './verify.ts'
import type { Access, AuthSettings, JsonWebKeyWithKid } from './types.ts'

const settings: AuthSettings = { realm: 'https://registry.example/v2/token', service: 'registry.example', issuer: 'meridian:registry.example' }
const PUBLIC = new Set(['pub', 'library/pub'])
const d = 'sha256:' + 'a'.repeat(64)
const repo = (name: string, ...actions: string[]): Access => ({ type: 'repository', name, actions })
const CATALOG: Access = { type: 'registry', name: 'catalog', actions: ['*'] }

let kid: string
let privateKey: CryptoKey
let impostorKey: CryptoKey
let verifyCalls = 0
let logLines: string[] = []

async function token(access: Access[], options: { sub?: string; exp?: number; key?: CryptoKey } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ sub: options.sub ?? 'alice', jti: crypto.randomUUID(), access })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(settings.issuer).setAudience(settings.service)
    .setIssuedAt(now).setNotBefore(now).setExpirationTime(options.exp ?? now + 300)
    .sign(options.key ?? privateKey)
}

/** A tiny registry: the guard on the /v2 prefix, and every route answering who it let in. */
function registry(): Hono {
  const keys = new Map<string, JsonWebKeyWithKid>()
  const verifier = createTokenVerifier({ keys: { key: async (k) => keys.get(k) ?? null }, issuer: settings.issuer, audience: settings.service })
  const verify: VerifyToken = (t) => { verifyCalls++; return verifier(t) }
  registryKeys = keys
  const guard = createAccessGuard({ settings, verify, isPublic: async (name) => PUBLIC.has(name), log: createLogger({ level: 'debug', write: (l) => logLines.push(l) }) })
  const app = new Hono()
  app.use('/v2/*', guard)
  app.use('/v2', guard)
  const echo = (c: Context) => c.json({ caller: callerOf(c), name: c.req.param('name') ?? null })
  app.all('/v2/token', echo)
  app.get('/.well-known/jwks.json', echo)
  app.get('/metrics', echo)
  app.get('/v2/', echo)
  app.get('/v2', echo)
  app.get('/v2/_catalog', echo)
  app.get('/v2/:name{.+}/manifests/:reference', echo)
  app.put('/v2/:name{.+}/manifests/:reference', echo)
  app.delete('/v2/:name{.+}/manifests/:reference', echo)
  app.get('/v2/:name{.+}/blobs/:digest', echo)
  app.delete('/v2/:name{.+}/blobs/:digest', echo)
  app.get('/v2/:name{.+}/tags/list', echo)
  app.get('/v2/:name{.+}/referrers/:digest', echo)
  app.post('/v2/:name{.+}/blobs/uploads/', echo)
  app.post('/v2/:name{.+}/blobs/uploads', echo)
  app.patch('/v2/:name{.+}/blobs/uploads/:uuid', echo)
  app.put('/v2/:name{.+}/blobs/uploads/:uuid', echo)
  app.get('/v2/:name{.+}/blobs/uploads/:uuid', echo)
  app.delete('/v2/:name{.+}/blobs/uploads/:uuid', echo)
  app.notFound((c) => renderError(ociError('NOT_FOUND'), c.req.method))
  app.onError((err, c) => renderError(err, c.req.method))
  return app
}
let registryKeys: Map<string, JsonWebKeyWithKid>
let app: Hono

async function call(method: string, path: string, bearer?: string, headers: Record<string, string> = {}) {
  const res = await app.request(`https://registry.example${path}`, { method, headers: bearer ? { Authorization: `Bearer ${bearer}`, ...headers } : headers })
  const text = await res.text()
  return { status: res.status, challenge: res.headers.get('WWW-Authenticate'), text, body: text ? JSON.parse(text) as Record<string, unknown> : null }
}

const challenge = (needs?: Access[], error?: string) =>
  `Bearer realm="${settings.realm}",service="${settings.service}"` +
  (needs ? `,scope="${needs.map(formatScope).join(' ')}"` : '') + (error ? `,error="${error}"` : '')

beforeAll(async () => {
  const pair = await generateKeyPair('ES256')
  privateKey = pair.privateKey
  impostorKey = (await generateKeyPair('ES256')).privateKey
  const jwk = await exportJWK(pair.publicKey)
  kid = await calculateJwkThumbprint(jwk)
  app = registry()
  registryKeys.set(kid, { ...jwk, kid, alg: 'ES256' })
})

beforeEach(() => {
  verifyCalls = 0
  logLines = []
})

// Every row of the requiredAccess table, on private repositories.
const ROWS: Array<[method: string, path: string, needs: Access[]]> = [
  ['GET', '/v2/team/app/manifests/latest', [repo('team/app', 'pull')]],
  ['HEAD', '/v2/team/app/manifests/latest', [repo('team/app', 'pull')]],
  ['GET', `/v2/team/app/blobs/${d}`, [repo('team/app', 'pull')]],
  ['HEAD', `/v2/team/app/blobs/${d}`, [repo('team/app', 'pull')]],
  ['GET', '/v2/team/app/tags/list', [repo('team/app', 'pull')]],
  ['GET', `/v2/team/app/referrers/${d}`, [repo('team/app', 'pull')]],
  ['PUT', '/v2/team/app/manifests/v1', [repo('team/app', 'pull', 'push')]],
  ['DELETE', `/v2/team/app/manifests/${d}`, [repo('team/app', 'delete')]],
  ['DELETE', `/v2/team/app/blobs/${d}`, [repo('team/app', 'delete')]],
  ['POST', '/v2/team/app/blobs/uploads/', [repo('team/app', 'pull', 'push')]],
  ['POST', '/v2/team/app/blobs/uploads', [repo('team/app', 'pull', 'push')]],
  ['PATCH', '/v2/team/app/blobs/uploads/u1', [repo('team/app', 'pull', 'push')]],
  ['PUT', `/v2/team/app/blobs/uploads/u1?digest=${d}`, [repo('team/app', 'pull', 'push')]],
  ['GET', '/v2/team/app/blobs/uploads/u1', [repo('team/app', 'push')]],
  ['DELETE', '/v2/team/app/blobs/uploads/u1', [repo('team/app', 'push')]],
  ['POST', `/v2/mine/blobs/uploads/?mount=${d}&from=team/secret`, [repo('mine', 'pull', 'push'), repo('team/secret', 'pull')]],
  ['GET', '/v2/_catalog', [CATALOG]],
  ['GET', `/v2/a/blobs/b/blobs/${d}`, [repo('a/blobs/b', 'pull')]],
  ['PUT', '/v2/a/manifests/b/manifests/v1', [repo('a/manifests/b', 'pull', 'push')]],
  ['GET', '/v2/team%2Fapp/tags/list', [repo('team/app', 'pull')]],
]

describe('the access guard, row by row', () => {
  it.each(ROWS)('%s %s: challenges an anonymous client with the scope it needs', async (method, path, needs) => {
    const res = await call(method, path)
    expect(res.status).toBe(401)
    expect(res.challenge).toBe(challenge(needs))
    if (method === 'HEAD') expect(res.text).toBe('')
    else expect((res.body!['errors'] as Array<{ code: string }>)[0]!.code).toBe('UNAUTHORIZED')
  })

  it.each(ROWS)('%s %s: lets a token granting exactly that through', async (method, path, needs) => {
    const res = await call(method, path, await token(needs))
    expect(res.status).toBe(200)
    if (method !== 'HEAD') expect((res.body!['caller'] as { subject: string }).subject).toBe('alice')
  })

  it.each(ROWS)('%s %s: asks for more scope when any one action is missing', async (method, path, needs) => {
    for (let i = 0; i < needs.length; i++) {
      for (const action of needs[i]!.actions) {
        const partial = needs.map((n, j) => (j === i ? { ...n, actions: n.actions.filter((a) => a !== action) } : n))
        const res = await call(method, path, await token(partial))
        expect(res.status, `without ${action} on ${needs[i]!.name}`).toBe(401)
        expect(res.challenge).toBe(challenge(needs, 'insufficient_scope'))
      }
    }
  })

  it.each(ROWS)('%s %s: refuses a token granting it for another repository or signed by another key', async (method, path, needs) => {
    const elsewhere = needs.map((n) => ({ ...n, name: n.type === 'repository' ? `other/${n.name}` : 'other' }))
    expect((await call(method, path, await token(elsewhere))).challenge).toBe(challenge(needs, 'insufficient_scope'))
    const forged = await call(method, path, await token(needs, { key: impostorKey }))
    expect(forged.status).toBe(401)
    expect(forged.challenge).toBe(challenge(needs, 'invalid_token'))
  })
})

describe('the access guard', () => {
  it('asks any valid token at the base endpoint, challenging without a scope', async () => {
    for (const path of ['/v2/', '/v2']) {
      expect((await call('GET', path)).challenge).toBe(challenge())
      expect((await call('HEAD', path)).status).toBe(401)
      const anonymousToken = await token([], { sub: '' })
      const res = await call('GET', path, anonymousToken)
      expect(res.status).toBe(200)
      expect(res.body!['caller']).toEqual({ subject: '', access: [] })
    }
  })

  it('judges a request once although both mounts match it', async () => {
    await call('GET', '/v2', await token([]))
    expect(verifyCalls).toBe(1)
    await call('GET', '/v2/team/app/tags/list', await token([repo('team/app', 'pull')]))
    expect(verifyCalls).toBe(2)
  })

  it('leaves the token endpoint, the JWKS and paths outside /v2 alone', async () => {
    for (const [method, path] of [['GET', '/v2/token?service=x'], ['POST', '/v2/token'], ['GET', '/.well-known/jwks.json'], ['GET', '/metrics']]) {
      const res = await call(method!, path!, 'not-a-token')
      expect(res.status, `${method} ${path}`).toBe(200)
      expect(res.body!['caller']).toBeNull()
    }
    expect(verifyCalls).toBe(0)
  })

  it('lets unknown /v2 paths and malformed names reach the route with any valid token only', async () => {
    for (const path of ['/v2/team/app/unknown', '/v2/Team/app/manifests/latest', '/v2/team/app/manifests/']) {
      expect((await call('GET', path)).challenge).toBe(challenge())
      const res = await call('GET', path, await token([]))
      expect(res.status === 404 || res.status === 200, path).toBe(true)
    }
    expect((await call('POST', '/v2/team/app/manifests/latest', await token([]))).status).toBe(404)
  })

  it('lets anyone pull a public repository without a token', async () => {
    for (const [method, path] of [['GET', '/v2/pub/manifests/latest'], ['HEAD', `/v2/pub/blobs/${d}`], ['GET', '/v2/library/pub/tags/list'], ['GET', `/v2/library%2Fpub/referrers/${d}`]]) {
      const res = await call(method!, path!)
      expect(res.status, `${method} ${path}`).toBe(200)
      if (method === 'GET') expect(res.body!['caller']).toEqual({ subject: '', access: [] })
    }
  })

  it('lets a token lacking pull read a public repository, but nothing more', async () => {
    const pushOnly = await token([repo('pub', 'push')])
    const res = await call('GET', '/v2/pub/manifests/latest', pushOnly)
    expect(res.status).toBe(200)
    expect(res.body!['caller']).toEqual({ subject: 'alice', access: [repo('pub', 'push')] })
    expect((await call('PUT', '/v2/pub/manifests/v1', await token([repo('pub', 'pull')]))).challenge).toBe(challenge([repo('pub', 'pull', 'push')], 'insufficient_scope'))
    expect((await call('PUT', '/v2/pub/manifests/v1')).challenge).toBe(challenge([repo('pub', 'pull', 'push')]))
    expect((await call('DELETE', `/v2/pub/blobs/${d}`)).status).toBe(401)
    expect((await call('GET', '/v2/pub/blobs/uploads/u1')).status).toBe(401)
  })

  it('mounts from a public repository with push on the target only; never anonymously', async () => {
    const path = `/v2/mine/blobs/uploads/?mount=${d}&from=library/pub`
    expect((await call('POST', path, await token([repo('mine', 'pull', 'push')]))).status).toBe(200)
    expect((await call('POST', path)).challenge).toBe(challenge([repo('mine', 'pull', 'push'), repo('library/pub', 'pull')]))
  })

  it('does not let the catalog through anonymously, even with public repositories', async () => {
    expect((await call('GET', '/v2/_catalog')).challenge).toBe(challenge([CATALOG]))
    expect((await call('GET', '/v2/_catalog', await token([CATALOG], { sub: '' }))).status).toBe(200)
  })

  it('refuses an expired token even on a public repository, logging why at debug without the token', async () => {
    const expired = await token([repo('pub', 'pull')], { exp: Math.floor(Date.now() / 1000) - 3600 })
    const res = await call('GET', '/v2/pub/manifests/latest', expired)
    expect(res.status).toBe(401)
    expect(res.challenge).toBe(challenge([repo('pub', 'pull')], 'invalid_token'))
    expect(logLines).toHaveLength(1)
    expect(JSON.parse(logLines[0]!)).toMatchObject({ level: 'debug', msg: 'token refused', reason: 'expired', method: 'GET', path: '/v2/pub/manifests/latest' })
    for (const part of expired.split('.')) expect(logLines[0]).not.toContain(part)
  })

  it('warns about a forged token, without the token', async () => {
    const forged = await token([repo('team/app', 'pull')], { key: impostorKey })
    await call('GET', '/v2/team/app/tags/list', forged)
    expect(JSON.parse(logLines[0]!)).toMatchObject({ level: 'warn', reason: 'bad signature' })
    for (const part of forged.split('.')) expect(logLines.join('\n')).not.toContain(part)
  })

  it('keeps the challenge on a refused HEAD, which has no body', async () => {
    const res = await call('HEAD', '/v2/team/app/manifests/latest', 'garbage')
    expect(res.status).toBe(401)
    expect(res.text).toBe('')
    expect(res.challenge).toBe(challenge([repo('team/app', 'pull')], 'invalid_token'))
  })

  it('treats Basic credentials and an empty Bearer as no token, junk after Bearer as an invalid one', async () => {
    const basic = await call('GET', '/v2/team/app/tags/list', undefined, { Authorization: `Basic ${btoa('alice:secret')}` })
    expect(basic.challenge).toBe(challenge([repo('team/app', 'pull')]))
    expect((await call('GET', '/v2/team/app/tags/list', undefined, { Authorization: 'Bearer ' })).challenge).toBe(challenge([repo('team/app', 'pull')]))
    expect((await call('GET', '/v2/team/app/tags/list', undefined, { Authorization: 'Bearer a b' })).challenge).toBe(challenge([repo('team/app', 'pull')], 'invalid_token'))
    expect((await call('GET', '/v2/pub/tags/list', undefined, { Authorization: `Basic ${btoa('alice:secret')}` })).status).toBe(200)
  })

  it('reads the scheme case-insensitively', async () => {
    const t = await token([repo('team/app', 'pull')])
    expect((await call('GET', '/v2/team/app/tags/list', undefined, { Authorization: `bearer ${t}` })).status).toBe(200)
    expect((await call('GET', '/v2/team/app/tags/list', undefined, { Authorization: `BEARER  ${t} ` })).status).toBe(200)
  })

  it('judges the name the route reads, percent-encoded or not', async () => {
    const res = await call('GET', '/v2/team%2Fapp/manifests/latest', await token([repo('team/app', 'pull')]))
    expect(res.status).toBe(200)
    expect(res.body!['name']).toBe('team/app')
    expect((await call('GET', '/v2/team%2Fapp/manifests/latest', await token([repo('team%2Fapp', 'pull')]))).status).toBe(401)
  })

  it('is not bypassed by an encoded /v2 prefix or route keyword', async () => {
    for (const path of ['/%76%32/team/app/manifests/latest', '/v%32/team/app/%6danifests/latest', `/v2/team/app/%62lobs/${d}`, '/v2/team/ap%70/tags/list']) {
      const res = await call('GET', path)
      expect(res.status, path).toBe(401)
      expect(res.challenge, path).toBe(challenge([repo('team/app', 'pull')]))
      expect((await call('GET', path, await token([repo('team/app', 'pull')]))).status, path).toBe(200)
    }
  })

  it('lets a token with more than enough through and hands its claims to the route', async () => {
    const access = [repo('team/app', 'pull', 'push', 'delete'), CATALOG]
    const res = await call('DELETE', `/v2/team/app/manifests/${d}`, await token(access, { sub: 'ci+robot' }))
    expect(res.body!['caller']).toEqual({ subject: 'ci+robot', access })
  })

  it('answers callerOf null where no guard ran', async () => {
    const bare = new Hono()
    bare.get('/x', (c) => c.json({ caller: callerOf(c) }))
    expect(await (await bare.request('/x')).json()).toEqual({ caller: null })
  })
})
