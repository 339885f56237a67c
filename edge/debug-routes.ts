// The edge's own endpoints: status (index position and lag, locations skipped), metrics, and an
// admin-only explanation of how a blob would be served to this client: which locations, in what
// order, and why.

import { Hono, type Context } from 'hono'
import { ociError } from '../oci/errors.ts'
import { assertName } from '../oci/names.ts'
import { parseDigest } from '../oci/digest.ts'

export const EDGE_STATUS_PATH = '/_meridian/edge/status'

export function debugRoutes(options: {
  adminToken: string | null
  explain(c: Context, digest: string): Promise<unknown>
  status(): Promise<unknown>
  metrics(): Promise<string>
}): Hono {
  const routes = new Hono()
  routes.get(EDGE_STATUS_PATH, async (c) => c.json(await options.status()))
  routes.get('/metrics', async (c) => c.body(await options.metrics(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }))
  // GET /_meridian/edge/route/<name>/blobs/<digest>, with `Authorization: Bearer <admin token>`;
  // the client's position comes from this request, so ask it from where the client is (or with
  // the headers a trusted proxy would add).
  routes.get('/_meridian/edge/route/:name{.+}/blobs/:digest', async (c) => {
    if (!options.adminToken || !(await sameSecret(c.req.header('authorization') ?? '', `Bearer ${options.adminToken}`))) {
      throw ociError('NOT_FOUND')
    }
    assertName(c.req.param('name'))
    parseDigest(c.req.param('digest'))
    return c.json(await options.explain(c, c.req.param('digest')))
  })
  return routes
}

/** Constant-time comparison of two secrets (their SHA-256s, so lengths leak nothing either). */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const encode = (s: string) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(s))
  const [x, y] = await Promise.all([encode(a), encode(b)])
  const u = new Uint8Array(x)
  const v = new Uint8Array(y)
  let diff = 0
  for (let i = 0; i < u.length; i++) diff |= u[i]! ^ v[i]!
  return diff === 0
}
