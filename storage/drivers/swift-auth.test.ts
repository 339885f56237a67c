// Keystone v3 logins of the swift driver against a stand-in Keystone on loopback (no Keystone is
// installable here in seconds): the request bodies Keystone's identity API documents, the
// object-store endpoint picked from the catalog, the token cached until it nears its expiry.
// The v1 auth runs against a real Swift in swift.test.ts.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSwiftSession, keystoneAuthBody, type SwiftAuth } from './swift-auth.ts'

describe('keystone v3 auth', () => {
  let server: Server
  let url: string
  const requests: Array<{ path: string; body: any }> = []
  let lifetimeMs = 3_600_000
  let status = 201

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = ''
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()))
      req.on('end', () => {
        requests.push({ path: req.url ?? '', body: JSON.parse(raw || 'null') })
        res.writeHead(status, { 'Content-Type': 'application/json', 'X-Subject-Token': `token-${requests.length}` })
        res.end(JSON.stringify({
          token: {
            expires_at: new Date(Date.now() + lifetimeMs).toISOString(),
            catalog: [
              { type: 'identity', endpoints: [{ interface: 'public', region_id: 'r1', url: 'http://keystone' }] },
              {
                type: 'object-store',
                endpoints: [
                  { interface: 'internal', region_id: 'r1', url: 'http://swift-internal.r1/v1/AUTH_p' },
                  { interface: 'public', region_id: 'r1', url: 'http://swift.r1/v1/AUTH_p/' },
                  { interface: 'public', region_id: 'r2', url: 'http://swift.r2/v1/AUTH_p' },
                ],
              },
            ],
          },
        }))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const session = (auth: SwiftAuth) => createSwiftSession({ location: 'ks', auth, fetch, timeoutMs: 5000 })

  it('logs in with a password scoped to a project, and takes the public object-store endpoint', async () => {
    requests.length = 0
    const s = session({ version: 3, authUrl: `${url}/v3/`, method: 'password', username: 'quay', password: 'pw', userDomainName: 'Users', projectName: 'registry', projectDomainId: 'default' })
    expect(await s.current()).toMatchObject({ token: 'token-1', storageUrl: 'http://swift.r1/v1/AUTH_p' })
    expect(requests).toEqual([{
      path: '/v3/auth/tokens',
      body: { auth: {
        identity: { methods: ['password'], password: { user: { name: 'quay', domain: { name: 'Users' }, password: 'pw' } } },
        scope: { project: { name: 'registry', domain: { id: 'default' } } },
      } },
    }])
    // Cached: no second login.
    await s.current()
    expect(requests).toHaveLength(1)
  })

  it('logs in with an application credential, adding /v3 to the URL, in the region and interface asked', async () => {
    requests.length = 0
    const s = session({ version: 3, authUrl: url, method: 'application_credential', applicationCredentialId: 'ac1', applicationCredentialSecret: 's3cret', region: 'r2' })
    expect(await s.current()).toMatchObject({ token: 'token-1', storageUrl: 'http://swift.r2/v1/AUTH_p' })
    expect(requests[0]).toEqual({ path: '/v3/auth/tokens', body: { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac1', secret: 's3cret' } } } } })
    const internal = session({ version: 3, authUrl: url, method: 'application_credential', applicationCredentialId: 'ac1', applicationCredentialSecret: 's', interface: 'internal' })
    expect((await internal.current()).storageUrl).toBe('http://swift-internal.r1/v1/AUTH_p')
  })

  it('names an application credential by name with its user', () => {
    expect(keystoneAuthBody({ version: 3, authUrl: url, method: 'application_credential', applicationCredentialName: 'ci', applicationCredentialSecret: 's', username: 'u' }))
      .toEqual({ identity: { methods: ['application_credential'], application_credential: { name: 'ci', secret: 's', user: { name: 'u', domain: { name: 'Default' } } } } })
  })

  it('logs in again once the token nears its expiry, and after invalidate', async () => {
    requests.length = 0
    lifetimeMs = 500
    try {
      const s = session({ version: 3, authUrl: url, method: 'password', userId: 'u1', password: 'pw', projectId: 'p1' })
      const first = await s.current()
      await new Promise((resolve) => setTimeout(resolve, 600))
      const second = await s.current()
      expect(second.token).not.toBe(first.token)
      s.invalidate(second.token)
      expect((await s.current()).token).not.toBe(second.token)
      expect(requests).toHaveLength(3)
    } finally {
      lifetimeMs = 3_600_000
    }
  })

  it("refuses bad credentials with StorageError 'denied', and a catalog without the endpoint as 'unavailable'", async () => {
    status = 401
    try {
      await expect(session({ version: 3, authUrl: url, method: 'password', username: 'u', password: 'nope' }).current())
        .rejects.toMatchObject({ name: 'StorageError', kind: 'denied' })
    } finally {
      status = 201
    }
    await expect(session({ version: 3, authUrl: url, method: 'password', username: 'u', password: 'pw', region: 'r9' }).current())
      .rejects.toMatchObject({ name: 'StorageError', kind: 'unavailable', message: expect.stringContaining('region r9') })
  })

  it("calls an auth endpoint that does not answer 'unavailable', naming no secret", async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const failure = await session({ version: 1, authUrl: `http://127.0.0.1:${port}/auth/v1.0`, user: 'a:b', key: 'secret-key-123' }).current().catch((err: unknown) => err)
    expect(failure).toMatchObject({ name: 'StorageError', kind: 'unavailable' })
    expect(String((failure as Error).message)).not.toContain('secret-key-123')
  })
})
