// The origin's token signing keys (README "Access control"): ES256 key pairs in the shared
// `signing_keys` table, so every origin on the database signs with the same key and serves the
// same JWKS. Rotation is without downtime: the retired key stays in the JWKS until the last token
// it may have signed has expired.

import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose'
import type { Db } from '../../db/client.ts'
import {
  currentSigningKey, rotateSigningKey, settleFirstSigningKey, verifyingSigningKey, verifyingSigningKeys,
  type NewSigningKey, type SigningKeyRow,
} from '../../db/queries/signing-keys.ts'
import type { Jwks, JsonWebKeyWithKid, KeySource } from '../../oci/auth/types.ts'

export interface KeyStore {
  /** The key that signs now; creates the first key when the table is empty. */
  signingKey(): Promise<{ kid: string; alg: 'ES256'; key: CryptoKey }>
  /** A new key signs from now on; the previous one verifies until its last token expired. */
  rotate(): Promise<{ kid: string; retired: string | null }>
  /** The public keys of the current key and of retired keys still verifying. */
  jwks(): Promise<Jwks>
  /** For the origin's own verifier (oci/auth/verify.ts). */
  keySource: KeySource
}

/**
 * How long an origin keeps using the key it read (ms). Another origin's rotation reaches it within
 * this, so a retired key must also verify tokens signed this long after it was retired.
 */
export const KEY_CACHE_MS = 5_000

async function newKey(): Promise<NewSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const pub = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(pub)
  return {
    kid,
    alg: 'ES256',
    privateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'ES256' }),
    publicJwk: JSON.stringify({ ...pub, kid, alg: 'ES256', use: 'sig' }),
  }
}

const publicOf = (row: SigningKeyRow): JsonWebKeyWithKid => ({ ...(JSON.parse(row.publicJwk) as JsonWebKey), kid: row.kid, alg: row.alg })

export function createKeyStore(db: Db, options: { tokenSeconds?: number; clockSkewSeconds?: number; now?: () => number } = {}): KeyStore {
  const { tokenSeconds = 300, clockSkewSeconds = 30, now = Date.now } = options
  let current: { kid: string; key: CryptoKey; readAt: number } | null = null
  let verifying: { rows: Map<string, SigningKeyRow>; readAt: number } | null = null

  const stillVerifies = (row: SigningKeyRow, at: number) => row.retiredAt === null || (row.verifyUntil ?? 0) > at

  async function use(row: SigningKeyRow, at: number) {
    // The same kid is the same key: keep the imported one rather than import it again.
    const key = current?.kid === row.kid ? current.key : await importJWK(JSON.parse(row.privateJwk) as JsonWebKey, 'ES256') as CryptoKey
    current = { kid: row.kid, key, readAt: at }
    return { kid: row.kid, alg: 'ES256' as const, key }
  }

  function verifyingRows(at: number): Map<string, SigningKeyRow> {
    if (!verifying || at - verifying.readAt >= KEY_CACHE_MS) {
      verifying = { rows: new Map(verifyingSigningKeys(db, at).map((r) => [r.kid, r])), readAt: at }
    }
    return verifying.rows
  }

  return {
    async signingKey() {
      const at = now()
      if (current && at - current.readAt < KEY_CACHE_MS) return { kid: current.kid, alg: 'ES256', key: current.key }
      const row = currentSigningKey(db) ?? settleFirstSigningKey(db, await newKey(), at)
      return use(row, at)
    },

    async rotate() {
      const key = await newKey()
      const at = now()
      const verifyUntil = at + KEY_CACHE_MS + (tokenSeconds + clockSkewSeconds) * 1000
      const retired = rotateSigningKey(db, key, verifyUntil, at)
      verifying = null
      await use(currentSigningKey(db)!, at)
      return { kid: key.kid, retired: retired[0] ?? null }
    },

    async jwks() {
      return { keys: verifyingSigningKeys(db, now()).map(publicOf) }
    },

    keySource: {
      async key(kid) {
        const at = now()
        let row = verifyingRows(at).get(kid) ?? null
        // A kid made since the last read (another origin rotated): a primary-key lookup, cheap.
        if (!row) {
          row = verifyingSigningKey(db, kid, at)
          if (row) verifying!.rows.set(kid, row)
        }
        return row && stillVerifies(row, at) ? publicOf(row) : null
      },
    },
  }
}
