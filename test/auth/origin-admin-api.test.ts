// The access-control admin API on a real origin: accounts, robots, grants, public repositories,
// key rotation; secrets once; who may call it (admin token, an admin account's registry token).

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accountByName } from '../../db/queries/accounts.ts'
import { isRepositoryPublic } from '../../db/queries/visibility.ts'
import { verifySecret } from '../../origin/auth/passwords.ts'
import type { TestOrigin } from '../helpers/origin.ts'
import { ADMIN_SCOPE, ADMIN_TOKEN, accessOf, adminCall, adminTokenFor, startAuthOrigin, tokenFor } from './origin-client.ts'

let origin: TestOrigin
const logged: string[] = []

beforeAll(async () => {
  const record = (msg: string, fields: Record<string, unknown> = {}) => { logged.push(JSON.stringify({ msg, ...fields })) }
  origin = await startAuthOrigin({
    log: { debug: record, info: record, warn: record, error: record },
    edit: (c) => ({ ...c, auth: { ...c.auth, tokenSeconds: 120 } }),
  })
})

afterAll(async () => {
  await origin?.close()
})

type AccountJson = { name: string; kind: string; isAdmin: boolean; disabled: boolean; grants: Array<{ target: string; actions: string[] }> }

describe('admin API: accounts', () => {
  it('creates a user, returns the generated password once, and never again', async () => {
    const res = await adminCall(origin, 'POST', '/accounts', { name: 'alice' })
    expect(res.status).toBe(201)
    const body = await res.json() as { account: AccountJson; secret: string }
    expect(body.account).toMatchObject({ name: 'alice', kind: 'user', isAdmin: false, disabled: false, grants: [] })
    expect(await verifySecret(body.secret, (await accountByName(origin.db, 'alice'))!.secretHash)).toBe(true)
    const listing = await (await adminCall(origin, 'GET', '/accounts')).text()
    expect(listing).toContain('"alice"')
    expect(listing).not.toContain(body.secret)
    expect(listing).not.toContain('scrypt$')
    expect(logged.join('\n')).not.toContain(body.secret)
  })

  it('does not echo a password it was given', async () => {
    const res = await adminCall(origin, 'POST', '/accounts', { name: 'bob', password: 'bob has a long password' })
    expect(res.status).toBe(201)
    expect(await res.json()).toEqual({ account: expect.objectContaining({ name: 'bob' }) })
    const reset = await adminCall(origin, 'POST', '/accounts/bob/secret', {})
    const { secret } = await reset.json() as { secret: string }
    expect(await verifySecret(secret, (await accountByName(origin.db, 'bob'))!.secretHash)).toBe(true)
  })

  it('creates robots with a secret shown once, and grants them', async () => {
    const res = await adminCall(origin, 'POST', '/robots', { namespace: 'team', name: 'ci' })
    expect(res.status).toBe(201)
    const { account, secret } = await res.json() as { account: AccountJson; secret: string }
    expect(account).toMatchObject({ name: 'team+ci', kind: 'robot' })
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const granted = await adminCall(origin, 'POST', '/accounts/team+ci/grants', { target: 'team/*', actions: ['push'] })
    expect(((await granted.json()) as { account: AccountJson }).account.grants).toEqual([{ target: 'team/*', actions: ['push'] }])
    const revoked = await adminCall(origin, 'DELETE', `/accounts/team+ci/grants?target=${encodeURIComponent('team/*')}`)
    expect(((await revoked.json()) as { account: AccountJson }).account.grants).toEqual([])
    expect(logged.some((l) => l.includes('"action":"granted"') && l.includes('team+ci'))).toBe(true)
    expect(logged.join('\n')).not.toContain(secret)
  })

  it('disables, promotes and deletes', async () => {
    await adminCall(origin, 'POST', '/accounts', { name: 'carol' })
    const patched = await adminCall(origin, 'PATCH', '/accounts/carol', { disabled: true, isAdmin: true })
    expect(((await patched.json()) as { account: AccountJson }).account).toMatchObject({ disabled: true, isAdmin: true })
    expect((await adminCall(origin, 'DELETE', '/accounts/carol')).status).toBe(200)
    expect(await accountByName(origin.db, 'carol')).toBeNull()
  })

  it('refuses bad input with the registry\'s error JSON', async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/accounts', { name: 'Bad Name' }, 400, 'a user name is'],
      ['POST', '/accounts', { name: 'dave', password: 'short' }, 400, 'a password needs'],
      ['POST', '/accounts', { name: 'alice' }, 409, 'an account named "alice" exists'],
      ['POST', '/accounts', [], 400, 'the body must be a JSON object'],
      ['POST', '/robots', { namespace: 'a/b', name: 'ci' }, 400, 'namespace'],
      ['POST', '/accounts/nobody/grants', { target: 'x', actions: ['pull'] }, 404, 'no account named "nobody"'],
      ['POST', '/accounts/alice/grants', { target: 'x', actions: ['fly'] }, 400, 'unknown action fly'],
      ['POST', '/accounts/alice/grants', { target: 'x' }, 400, 'actions must be'],
      ['DELETE', '/accounts/alice/grants?target=nothing', undefined, 404, 'has no grant'],
      ['PATCH', '/accounts/alice', { disabled: 'yes' }, 400, 'disabled must be true or false'],
      ['DELETE', '/accounts/admin', undefined, 409, 'last enabled admin'],
      ['PUT', '/public-repositories/UPPER', undefined, 400, 'invalid repository name'],
    ]
    for (const [method, path, body, status, message] of cases) {
      const res = await adminCall(origin, method, path, body)
      expect(res.status, `${method} ${path}`).toBe(status)
      const json = await res.json() as { errors: Array<{ message: string }> }
      expect(json.errors[0]!.message, `${method} ${path}`).toContain(message)
    }
  })
})

describe('admin API: repositories and keys', () => {
  it('makes a repository public and private', async () => {
    const put = await adminCall(origin, 'PUT', '/public-repositories/team/base')
    expect(await put.json()).toEqual({ repository: 'team/base', public: true, changed: true })
    expect(await isRepositoryPublic(origin.db, 'team/base')).toBe(true)
    expect(await (await adminCall(origin, 'GET', '/public-repositories')).json()).toEqual({ repositories: ['team/base'] })
    expect(await (await adminCall(origin, 'DELETE', '/public-repositories/team/base')).json()).toEqual({ repository: 'team/base', public: false, changed: true })
  })

  it('rotates the signing key; the old one stays in the JWKS', async () => {
    const jwks = async () => ((await (await fetch(`${origin.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)
    await tokenFor(origin, [])
    const [before] = await jwks()
    const rotated = await (await adminCall(origin, 'POST', '/signing-keys/rotate')).json() as { kid: string; retired: string | null }
    expect(rotated.retired).toBe(before)
    expect(await jwks()).toEqual(expect.arrayContaining([before, rotated.kid]))
  })
})

describe('configuration', () => {
  it('issues tokens for auth.tokenSeconds', async () => {
    const res = await fetch(`${origin.url}/v2/token?service=${encodeURIComponent(new URL(origin.url).host)}`)
    const body = await res.json() as { token: string; expires_in: number }
    expect(body.expires_in).toBe(120)
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number; iat: number }
    expect(claims.exp - claims.iat).toBe(120)
  })
})

describe('admin API: who may call it', () => {
  const errorOf = async (res: Response) => ((await res.json()) as { errors: Array<{ code: string; message: string }> }).errors[0]!

  it('wants the admin token, or a registry token of an enabled admin account holding registry:admin:*', async () => {
    expect((await adminCall(origin, 'GET', '/accounts', undefined, '')).status).toBe(401)
    expect((await adminCall(origin, 'GET', '/accounts', undefined, 'Bearer not-a-token')).status).toBe(401)
    await adminCall(origin, 'POST', '/accounts', { name: 'root', admin: true, password: 'root has a long password' })
    const rootToken = await adminTokenFor(origin, { user: 'root', secret: 'root has a long password' })
    expect(accessOf(rootToken)).toEqual([{ type: 'registry', name: 'admin', actions: ['*'] }])
    expect((await adminCall(origin, 'GET', '/accounts', undefined, `Bearer ${rootToken}`)).status).toBe(200)
    // The replication part of the admin API takes it too.
    expect((await adminCall(origin, 'GET', '/replication/backlog', undefined, `Bearer ${rootToken}`)).status).toBe(200)

    const bobToken = await tokenFor(origin, [ADMIN_SCOPE], { user: 'bob', secret: (await (await adminCall(origin, 'POST', '/accounts/bob/secret', {})).json() as { secret: string }).secret })
    const refused = await adminCall(origin, 'POST', '/accounts', { name: 'mallory', admin: true }, `Bearer ${bobToken}`)
    expect(refused.status).toBe(403)
    expect((await errorOf(refused)).code).toBe('DENIED')
    expect(await accountByName(origin.db, 'mallory')).toBeNull()
    const anonymous = await tokenFor(origin, [ADMIN_SCOPE])
    expect(accessOf(anonymous)).toEqual([])
    expect((await adminCall(origin, 'GET', '/accounts', undefined, `Bearer ${anonymous}`)).status).toBe(403)

    // Demoted since the token was issued: refused at once.
    await adminCall(origin, 'PATCH', '/accounts/root', { isAdmin: false })
    expect((await adminCall(origin, 'GET', '/accounts', undefined, `Bearer ${rootToken}`)).status).toBe(403)
  })

  it('refuses an admin account\'s pull token (the kind edges and proxies see), saying which scope to ask for', async () => {
    await adminCall(origin, 'POST', '/accounts', { name: 'root2', admin: true, password: 'root2 has a long password' })
    const credentials = { user: 'root2', secret: 'root2 has a long password' }
    for (const scopes of [[], ['repository:team/app:pull'], ['repository:team/app:pull,push,delete', 'registry:catalog:*']]) {
      const token = await tokenFor(origin, scopes, credentials)
      expect(accessOf(token).some((a) => a.type === 'registry' && a.name === 'admin'), scopes.join(' ')).toBe(false)
      const refused = await adminCall(origin, 'POST', '/accounts', { name: 'mallory2', admin: true }, `Bearer ${token}`)
      expect(refused.status, scopes.join(' ')).toBe(403)
      const error = await errorOf(refused)
      expect(error.code).toBe('DENIED')
      expect(error.message).toContain('scope=registry:admin:*')
      expect((await adminCall(origin, 'GET', '/replication/backlog', undefined, `Bearer ${token}`)).status).toBe(403)
    }
    expect(await accountByName(origin.db, 'mallory2')).toBeNull()
    // The same account with the scope, next to a pull: both granted, the admin API opens.
    const scoped = await adminTokenFor(origin, credentials, ['repository:team/app:pull'])
    expect(accessOf(scoped)).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull'] }, { type: 'registry', name: 'admin', actions: ['*'] }])
    expect((await adminCall(origin, 'GET', '/accounts/root2', undefined, `Bearer ${scoped}`)).status).toBe(200)
    // Disabled since: refused at once, scope or not.
    await adminCall(origin, 'PATCH', '/accounts/root2', { disabled: true })
    expect((await adminCall(origin, 'GET', '/accounts/root2', undefined, `Bearer ${scoped}`)).status).toBe(403)
  })

  it('gives a non-admin asking for registry:admin:* the rest of what it asked (a partial grant)', async () => {
    await adminCall(origin, 'POST', '/accounts', { name: 'carol', password: 'carol has a long password' })
    await adminCall(origin, 'POST', '/accounts/carol/grants', { target: 'team/*', actions: ['pull'] })
    const token = await tokenFor(origin, ['repository:team/app:pull', ADMIN_SCOPE], { user: 'carol', secret: 'carol has a long password' })
    expect(accessOf(token)).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull'] }])
    expect((await adminCall(origin, 'GET', '/accounts', undefined, `Bearer ${token}`)).status).toBe(403)
  })
})

describe('admin API on loopback without MERIDIAN_ADMIN_TOKEN', () => {
  it('keeps the replication routes open as before, but accounts and grants need an admin credential', async () => {
    const open = await startAuthOrigin({ adminToken: null })
    try {
      const call = (path: string, authorization = '', method = 'GET', body?: unknown) => adminCall(open, method, path, body, authorization)
      expect((await call('/replication/backlog')).status).toBe(200)
      for (const path of ['/accounts', '/accounts/admin', '/public-repositories', '/robots']) {
        const res = await call(path, '', path === '/robots' ? 'POST' : 'GET', path === '/robots' ? { namespace: 'a', name: 'b' } : undefined)
        expect(res.status, path).toBe(401)
        expect(((await res.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toContain('on loopback too')
      }
      expect(await accountByName(open.db, 'a+b')).toBeNull()
      expect((await call('/signing-keys/rotate', '', 'POST')).status).toBe(401)
      // The wrong admin token is no credential either.
      expect((await call('/accounts', `Bearer ${ADMIN_TOKEN}`)).status).toBe(401)

      const password = readFileSync(join(open.dataDir, 'admin-password'), 'utf8').trim()
      // An admin's token without the admin scope is refused here too, on the replication routes as well.
      const pullToken = await tokenFor(open, ['repository:team/app:pull'], { user: 'admin', secret: password })
      expect((await call('/accounts', `Bearer ${pullToken}`)).status).toBe(403)
      expect((await call('/replication/backlog', `Bearer ${pullToken}`)).status).toBe(403)
      const adminToken = await adminTokenFor(open, { user: 'admin', secret: password })
      expect((await call('/accounts', `Bearer ${adminToken}`)).status).toBe(200)
      await call('/accounts', `Bearer ${adminToken}`, 'POST', { name: 'erin', password: 'erin has a long password' })
      const erin = await tokenFor(open, [], { user: 'erin', secret: 'erin has a long password' })
      // A caller that names a non-admin account is refused, on the replication routes too.
      expect((await call('/replication/backlog', `Bearer ${erin}`)).status).toBe(403)
    } finally {
      await open.close()
    }
  })
})
