// An edge's view of the origin's signing keys: the JWKS, fetched on first use, again when a token
// names a kid we do not hold (a rotation), and once it is older than maxAgeMs (a retired key
// leaving). Every fetch, successful or not, respects a floor (minRefreshMs), so a flood of tokens
// with made-up kids costs the origin at most one JWKS request per floor, and a failed fetch keeps
// the keys we had.

import type { Jwks, JsonWebKeyWithKid, KeySource } from './types.ts'

/** The default floor between two JWKS fetches; the origin publishes a rotated-in key at least this
 * long before it signs with it (origin/auth/signing-keys.ts ACTIVATION_DELAY_MS). */
export const DEFAULT_MIN_REFRESH_MS = 30_000

export interface JwksCacheOptions {
  /** Fetches the current JWKS (the origin's JWKS_PATH); may throw. */
  fetchJwks: () => Promise<Jwks>
  /** No two fetches start closer together than this. */
  minRefreshMs?: number
  /** Keys older than this are fetched again before use. */
  maxAgeMs?: number
  /** A fetch not answered by then counts as failed, so a hung origin cannot hang every request
   * that waits for the keys. */
  fetchTimeoutMs?: number
  now?: () => number
}

export function createJwksKeySource(options: JwksCacheOptions): KeySource {
  const { fetchJwks, minRefreshMs = DEFAULT_MIN_REFRESH_MS, maxAgeMs = 600_000, fetchTimeoutMs = 10_000, now = Date.now } = options
  let keys = new Map<string, JsonWebKeyWithKid>()
  let loaded = false
  let fetchedAt = -Infinity
  let attemptedAt = -Infinity
  let inflight: Promise<void> | null = null

  /** One fetch at a time; callers arriving during it wait for the same one. */
  function refresh(): Promise<void> {
    if (inflight) return inflight
    if (now() - attemptedAt < minRefreshMs) return Promise.resolve()
    attemptedAt = now()
    inflight = (async () => {
      try {
        const next = keysOf(await withTimeout(fetchJwks(), fetchTimeoutMs))
        if (next) {
          keys = next
          loaded = true
          fetchedAt = now()
        }
      } catch {
        // Keep what we had; the floor spaces out the next attempt.
      } finally {
        inflight = null
      }
    })()
    return inflight
  }

  return {
    async key(kid: string): Promise<JsonWebKeyWithKid | null> {
      if (!loaded || now() - fetchedAt >= maxAgeMs) await refresh()
      const known = keys.get(kid)
      if (known) return known
      await refresh()
      return keys.get(kid) ?? null
    },
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('JWKS fetch timed out')), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/** The usable keys of a JWKS by kid, or null when the document is not a JWKS at all. */
function keysOf(jwks: unknown): Map<string, JsonWebKeyWithKid> | null {
  const list = (jwks as { keys?: unknown } | null)?.keys
  if (!Array.isArray(list)) return null
  const keys = new Map<string, JsonWebKeyWithKid>()
  for (const key of list as unknown[]) {
    if (typeof key !== 'object' || key === null) continue
    // The key's type and algorithm are the verifier's to check; here only the kid matters.
    const { kid } = key as { kid?: unknown }
    if (typeof kid === 'string' && kid !== '') keys.set(kid, key as JsonWebKeyWithKid)
  }
  return keys
}
