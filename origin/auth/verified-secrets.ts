// A short memory of secrets already verified. Every password grant costs a scrypt (~0.25 s of one
// core, passwords.ts), and clients ask for a token per pull: a CI fleet pulling with one robot
// account would hold the token endpoint to a few grants per second per core. A secret that just
// verified against a stored hash is remembered for `ttlMs`, as an HMAC under a key made at start
// (the secret itself is never kept), together with that hash: a new password or robot secret is a
// new hash, so the old one stops matching at once. A wrong secret is never remembered and always
// costs its scrypt; an unknown account has no hash and is never looked up here. Concurrent checks
// of one secret against one hash share a single scrypt.

import { createHmac, randomBytes } from 'node:crypto'
import { verifySecret } from './passwords.ts'

export interface SecretVerifier {
  /** As verifySecret: constant-time, a dummy hash when `hash` is null. */
  verify(secret: string, hash: string | null): Promise<boolean>
}

export const VERIFIED_TTL_MS = 10 * 60_000
export const VERIFIED_MAX = 10_000

export function createSecretVerifier(options: { ttlMs?: number; max?: number; now?: () => number; check?: typeof verifySecret } = {}): SecretVerifier {
  const { ttlMs = VERIFIED_TTL_MS, max = VERIFIED_MAX, now = Date.now, check = verifySecret } = options
  const key = randomBytes(32)
  /** HMAC(hash, secret) → when it stops counting; Map order is insertion order, oldest first. */
  const verified = new Map<string, number>()
  const inFlight = new Map<string, Promise<boolean>>()
  const id = (secret: string, hash: string) => createHmac('sha256', key).update(hash).update('\0').update(secret).digest('base64')

  return {
    async verify(secret, hash) {
      if (hash === null) return check(secret, null)
      const k = id(secret, hash)
      const until = verified.get(k)
      if (until !== undefined) {
        if (until > now()) return true
        verified.delete(k)
      }
      let pending = inFlight.get(k)
      if (!pending) {
        pending = check(secret, hash).then((ok) => {
          if (ok) {
            if (verified.size >= max) verified.delete(verified.keys().next().value!)
            verified.set(k, now() + ttlMs)
          }
          return ok
        }).finally(() => inFlight.delete(k))
        inFlight.set(k, pending)
      }
      return pending
    },
  }
}
