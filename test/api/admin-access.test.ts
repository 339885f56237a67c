// Who may use the admin API: with a token, only its holders; without one, only a loopback origin.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { Hono } from 'hono'
import { createAdminRoutes } from '../../origin/routes/admin.ts'
import { renderError } from '../../oci/errors.ts'
import { expectOciError } from '../helpers/registry-client.ts'

describe('admin API access', () => {
  let origin: TestOrigin
  beforeAll(async () => { origin = await startTestOrigin() })
  afterAll(async () => { await origin?.close() })

  // Mounted the way origin/server.ts mounts it, with the origin's one error renderer.
  const routes = (token: string | null, openWithoutToken: boolean) => {
    const app = new Hono()
    app.route('/', createAdminRoutes({ db: origin.db, config: origin.config, policy: origin.policy, metrics: origin.metrics, token, openWithoutToken }))
    app.onError((err) => renderError(err))
    return app
  }

  it('answers a loopback origin without a token', async () => {
    const res = await fetch(`${origin.url}/admin/replication/backlog`)
    expect(res.status).toBe(200)
  })

  it('is closed without a token when the origin listens beyond loopback', async () => {
    const res = await routes(null, false).request('/namespaces/acme/policy', { method: 'PUT', body: '{"extraLocations":[]}' })
    await expectOciError(res, 'DENIED', 403)
  })

  it('needs the exact bearer token once one is set', async () => {
    const admin = routes('s3cret-token', false)
    await expectOciError(await admin.request('/replication/backlog'), 'UNAUTHORIZED', 401)
    await expectOciError(await admin.request('/replication/backlog', { headers: { Authorization: 'Bearer s3cret-tokeX' } }), 'UNAUTHORIZED', 401)
    const ok = await admin.request('/replication/backlog', { headers: { Authorization: 'Bearer s3cret-token' } })
    expect(ok.status).toBe(200)
  })
})
