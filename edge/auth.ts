// Access control at the edge (README "Access control", docs/edge.md): the same guard as the origin
// (oci/auth/guard.ts), verifying tokens offline against the origin's public keys. The JWKS is
// fetched through the origin client (the runtime's fetch: Node, Bun, Deno, workerd alike) and kept
// by the key cache, which refreshes it on an unknown kid (at most every 30 s) and every 10 min.
// Visibility comes from the region index; the guard runs before anything reads a location.

import type { MiddlewareHandler } from 'hono'
import { JWKS_PATH, type AuthSettings, type IsPublic, type Jwks, type JsonWebKeyWithKid } from '../oci/auth/types.ts'
import { createAccessGuard } from '../oci/auth/guard.ts'
import { createTokenVerifier } from '../oci/auth/verify.ts'
import { createJwksKeySource } from '../oci/auth/jwks-cache.ts'
import { describeError, type Logger } from '../storage/log.ts'
import type { OriginClient } from './origin-client.ts'
import { withTimeout } from './timing.ts'

export interface EdgeAuth {
  /** The origin's realm, service and issuer (edge config `auth`). */
  settings: AuthSettings
  /** Where the origin serves its JWKS. */
  jwksUrl: string
  /** Readable anonymously, per the region index. */
  isPublic: IsPublic
  /** Shortest time between two JWKS fetches (an unknown kid); default 30 s. */
  jwksMinRefreshMs?: number
  /** A JWKS older than this is fetched again; default 10 min. */
  jwksMaxAgeMs?: number
  /** How long the origin may take to answer the JWKS. */
  jwksTimeoutMs?: number
}

/** A JWKS could not be read from the origin: no key is trusted from a failed fetch. */
export class JwksUnavailable extends Error {
  override name = 'JwksUnavailable'
}

/** The origin's JWKS, checked for shape before the cache keeps it. */
export function jwksFetcher(origin: OriginClient, url: string, timeoutMs = 5000, log?: Logger): () => Promise<Jwks> {
  const fetchOnce = () => withTimeout(timeoutMs, async (signal) => {
    const res = await origin.get(url, { accept: 'application/json' }, signal)
    if (!res.ok) {
      await res.body?.cancel()
      throw new JwksUnavailable(`the origin's JWKS answered HTTP ${res.status}`)
    }
    const body = await res.json() as { keys?: unknown }
    if (!body || !Array.isArray(body.keys)) throw new JwksUnavailable('the origin\'s JWKS is not a key set')
    return { keys: body.keys.flatMap(publicEcKey) }
  })
  // The key cache keeps its keys through a failed fetch and says nothing: say it here, since an
  // edge that never got the keys refuses every token.
  return async () => {
    try {
      return await fetchOnce()
    } catch (err) {
      log?.warn('could not fetch the origin\'s JWKS; tokens signed with keys not yet known are refused', { url, error: describeError(err) })
      throw err
    }
  }
}

/**
 * An edge with `auth: null` in front of an origin that has access control on would serve its
 * private repositories to anyone. The origin serves a JWKS only with access control on: if it
 * does, this says so loudly (once, at start; the edge still starts, as configured).
 */
export async function warnIfOriginHasAuth(origin: OriginClient, log: Logger): Promise<void> {
  try {
    const res = await withTimeout(5000, (signal) => origin.get(JWKS_PATH, { accept: 'application/json' }, signal))
    const body = res.ok ? await res.json() as { keys?: unknown } : (await res.body?.cancel(), null)
    if (Array.isArray(body?.keys) && body.keys.length > 0) {
      log.error('the origin has access control on but this edge\'s config says auth: null: it serves every repository to anyone. Set auth (docs/edge.md)')
    }
  } catch {
    // The origin not answering now says nothing either way.
  }
}

/** Only public P-256 keys with a kid are kept (tokens are ES256), and only their public members. */
function publicEcKey(raw: unknown): JsonWebKeyWithKid[] {
  if (typeof raw !== 'object' || raw === null) return []
  const k = raw as Record<string, unknown>
  if (k.kty !== 'EC' || k.crv !== 'P-256' || typeof k.kid !== 'string' || typeof k.x !== 'string' || typeof k.y !== 'string') return []
  return [{ kty: 'EC', crv: 'P-256', x: k.x, y: k.y, kid: k.kid, alg: typeof k.alg === 'string' ? k.alg : 'ES256', use: 'sig' }]
}

export function createEdgeGuard(auth: EdgeAuth, origin: OriginClient, log?: Logger): MiddlewareHandler {
  const keys = createJwksKeySource({
    fetchJwks: jwksFetcher(origin, auth.jwksUrl, auth.jwksTimeoutMs, log),
    ...(auth.jwksMinRefreshMs !== undefined ? { minRefreshMs: auth.jwksMinRefreshMs } : {}),
    ...(auth.jwksMaxAgeMs !== undefined ? { maxAgeMs: auth.jwksMaxAgeMs } : {}),
  })
  const verify = createTokenVerifier({ keys, issuer: auth.settings.issuer, audience: auth.settings.service })
  return createAccessGuard({ settings: auth.settings, verify, isPublic: auth.isPublic, ...(log ? { log } : {}) })
}
