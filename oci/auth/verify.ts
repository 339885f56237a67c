// Registry token verification (distribution docs/spec/auth/jwt.md), the same code at the origin and
// at every edge: a JWS signed with ES256 by a key the KeySource knows under the header's kid,
// issued by us, for this service, within its lifetime (give or take the clock skew), carrying a
// well-formed `access` claim. jose does the cryptography on WebCrypto, so it runs everywhere.

import { errors, importJWK, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose'
import type { Access, JsonWebKeyWithKid, KeySource, TokenClaims } from './types.ts'

/** A token that must not be honoured. `reason` is short and safe to log: never the token, a claim
 * value or a key. */
export class TokenInvalid extends Error {
  readonly reason: string
  constructor(reason: string) {
    super(`token refused: ${reason}`)
    this.name = 'TokenInvalid'
    this.reason = reason
  }
}

export type VerifyToken = (token: string) => Promise<TokenClaims>

export interface TokenVerifierOptions {
  keys: KeySource
  issuer: string
  audience: string
  /** Tolerated difference between our clock and the issuer's, for exp and nbf. */
  clockSkewSeconds?: number
  /** Milliseconds since the epoch (tests move time with it). */
  now?: () => number
  /**
   * How many verified tokens to remember (0: none). Clients reuse one token for every request of
   * a pull, and an ES256 verification costs ~0.1-0.2 ms, more than the rest of a manifest HEAD at
   * an edge. A remembered token is honoured only while the KeySource still holds its kid (checked
   * on every use), and for at most cacheSeconds after it was verified.
   */
  cacheSize?: number
  /** How long a verified token is remembered at most (default 300 s), however far its exp. */
  cacheSeconds?: number
  /** Longest accepted token lifetime, exp - iat (default 86,400 s, the configurable maximum, plus
   * the skew): a leaked key cannot mint a token that lasts for years. */
  maxLifetimeSeconds?: number
}

// Only ES256: `alg: none` and HS256 signed with the public key's bytes as a secret (the classic
// key-confusion forgery) are refused by jose before any key is looked up.
const ALGORITHMS = ['ES256']
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'access']
// Ours are well under 4 KiB even with many scopes; a megabyte of base64 is not worth parsing.
const MAX_TOKEN_LENGTH = 16 * 1024

/** Thrown by the key lookup when the KeySource itself fails: that is our fault, not the token's,
 * so it is rethrown as it is (a 5xx) instead of being reported as an invalid token. */
class KeySourceFailed extends Error {
  constructor(cause: unknown) {
    super('key source failed', { cause })
  }
}

export function createTokenVerifier(options: TokenVerifierOptions): VerifyToken {
  const { keys, issuer, audience, clockSkewSeconds = 30, now = Date.now, cacheSize = 1024, cacheSeconds = 300 } = options
  const maxLifetimeSeconds = options.maxLifetimeSeconds ?? 86_400 + clockSkewSeconds
  // `until` (ms): verifiedAt + cacheSeconds; exp is checked on its own so it reads "expired".
  const verified = new Map<string, { claims: TokenClaims; kid: string; until: number }>()
  // Imported keys by JWK object: a KeySource hands out the same object while it holds a key, so
  // WebCrypto's importKey runs once per key, not once per request.
  const imported = new WeakMap<JsonWebKeyWithKid, Promise<CryptoKey>>()

  async function keyFor(header: JWTHeaderParameters): Promise<CryptoKey> {
    if (typeof header.kid !== 'string' || header.kid === '') throw new TokenInvalid('no kid in the header')
    let jwk: JsonWebKeyWithKid | null
    try {
      jwk = await keys.key(header.kid)
    } catch (err) {
      throw new KeySourceFailed(err)
    }
    if (!jwk) throw new TokenInvalid('unknown kid')
    if ((jwk.alg !== undefined && jwk.alg !== 'ES256') || jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new TokenInvalid('key is not an ES256 key')
    let key = imported.get(jwk)
    if (!key) {
      // The public members only: a JWK that also carried `d` must not become a private key here.
      key = importJWK({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, 'ES256') as Promise<CryptoKey>
      imported.set(jwk, key)
      key.catch(() => imported.delete(jwk))
    }
    try {
      return await key
    } catch {
      throw new TokenInvalid('unusable key')
    }
  }

  return async function verifyToken(token: string): Promise<TokenClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new TokenInvalid('malformed token')
    const remembered = verified.get(token)
    if (remembered) {
      // jose's own test: expired once exp <= now - tolerance.
      if (remembered.claims.exp <= now() / 1000 - clockSkewSeconds) {
        verified.delete(token)
        throw new TokenInvalid('expired')
      }
      // A key withdrawn (rotated out at the origin, gone from an edge's JWKS) ends its remembered
      // tokens too: a map lookup in both KeySources. Otherwise verify afresh, which then refuses.
      // A failing key source throws as itself (a 5xx), as in keyFor.
      if (now() < remembered.until && (await keys.key(remembered.kid)) !== null) return remembered.claims
      verified.delete(token)
    }
    let payload: JWTPayload
    let kid = ''
    try {
      ({ payload } = await jwtVerify(token, (header) => {
        kid = typeof header.kid === 'string' ? header.kid : ''
        return keyFor(header)
      }, {
        algorithms: ALGORITHMS,
        issuer,
        audience,
        clockTolerance: clockSkewSeconds,
        currentDate: new Date(now()),
        requiredClaims: REQUIRED_CLAIMS,
      }))
    } catch (err) {
      if (err instanceof TokenInvalid) throw err
      if (err instanceof KeySourceFailed) throw err.cause
      throw new TokenInvalid(reasonOf(err))
    }
    const claims = claimsOf(payload, audience)
    // jose checks iat only when asked for a maximum age; ours is a maximum lifetime.
    if (claims.iat > now() / 1000 + clockSkewSeconds) throw new TokenInvalid('issued in the future')
    if (claims.exp - claims.iat > maxLifetimeSeconds) throw new TokenInvalid('lifetime too long')
    if (cacheSize > 0) {
      // Oldest first out; the claims are shared between requests, so nobody may change them.
      if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!)
      verified.set(token, { claims, kid, until: now() + cacheSeconds * 1000 })
    }
    return claims
  }
}

/** A short, fixed description of why jose refused a token. */
function reasonOf(err: unknown): string {
  if (!(err instanceof errors.JOSEError)) return 'malformed token'
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired'
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (err as errors.JWTClaimValidationFailed).claim
      if (claim === 'nbf') return 'not yet valid'
      if (claim === 'iss') return 'wrong issuer'
      if (claim === 'aud') return 'wrong audience'
      return ['sub', 'exp', 'iat', 'jti', 'access'].includes(claim) ? `missing or invalid ${claim} claim` : 'invalid claims'
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm not allowed'
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad signature'
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'unsupported token'
    default:
      return 'malformed token'
  }
}

/** The claims in our shape, or TokenInvalid when one has the wrong type. jose has checked iss,
 * aud, exp, nbf and iat; `aud` may be a list, of which ours is one. */
function claimsOf(payload: JWTPayload, audience: string): TokenClaims {
  const { iss, sub, exp, nbf, iat, jti } = payload
  if (typeof sub !== 'string') throw new TokenInvalid('missing or invalid sub claim')
  if (typeof jti !== 'string') throw new TokenInvalid('missing or invalid jti claim')
  if (typeof iss !== 'string' || typeof exp !== 'number' || typeof nbf !== 'number' || typeof iat !== 'number') throw new TokenInvalid('invalid claims')
  const access = accessOf(payload['access'])
  if (!access) throw new TokenInvalid('malformed access claim')
  return Object.freeze({ iss, sub, aud: audience, exp, nbf, iat, jti, access })
}

/** jwt.md's `access`: a list of {type, name, actions[]}. Any malformed entry refuses the token:
 * our issuer never writes one, so it means a bug or a forgery, not something to skip over. */
function accessOf(value: unknown): Access[] | null {
  if (!Array.isArray(value)) return null
  const access: Access[] = []
  for (const entry of value as unknown[]) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return null
    const { type, name, actions } = entry as Record<string, unknown>
    if (type !== 'repository' && type !== 'registry') return null
    if (typeof name !== 'string' || name === '') return null
    if (!Array.isArray(actions) || !actions.every((a) => typeof a === 'string')) return null
    access.push(Object.freeze({ type, name, actions: Object.freeze([...(actions as string[])]) as string[] }))
  }
  return Object.freeze(access) as Access[]
}
