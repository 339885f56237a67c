// The edge credential (README "Change feed (edges)"): a shared secret edges present as
// `Authorization: Bearer <token>`. Without one configured the feed answers only while the origin
// listens on loopback alone, as the admin API does: the feed hands out every manifest.

import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { ociError } from '../../oci/errors.ts'

export interface EdgeCredentialOptions {
  /** The configured token (config origin.edgeToken / MERIDIAN_EDGE_TOKEN), or null. */
  token: string | null
  /** Whether the origin listens on loopback only; known once it listens. */
  openWithoutToken: () => boolean
}

/** Headers a reverse proxy adds when it relays a request. */
const RELAYED = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'via']

const digestOf = (text: string) => createHash('sha256').update(text).digest()

export function requireEdgeCredential(options: EdgeCredentialOptions): MiddlewareHandler {
  // Hashes compared in constant time: neither the token's length nor a prefix leaks by timing.
  const expected = options.token ? digestOf(`Bearer ${options.token}`) : null
  return async function edgeCredential(c, next) {
    if (expected) {
      if (!timingSafeEqual(digestOf(c.req.header('authorization') ?? ''), expected)) {
        throw ociError('UNAUTHORIZED', { message: 'edge credential required', headers: { 'WWW-Authenticate': 'Bearer realm="meridian-edge"' } })
      }
    } else if (!options.openWithoutToken() || RELAYED.some((h) => c.req.header(h) !== undefined)) {
      // Without a token, only a caller on this machine reaching the loopback address itself: a
      // request relayed by a reverse proxy (which says so in these headers) is refused too.
      throw ociError('UNAUTHORIZED', { message: 'the change feed is closed: set MERIDIAN_EDGE_TOKEN to use it on a non-loopback address or behind a proxy', headers: { 'WWW-Authenticate': 'Bearer realm="meridian-edge"' } })
    }
    await next()
  }
}
