// The origin's token signing keys (README "Access control"): ES256 key pairs in the shared
// `signing_keys` table, so every origin on the database signs with the same key and serves the
// same JWKS. Rotation is without downtime on both sides: the new key is in the JWKS a while before
// it signs (so edges holding an older JWKS have fetched it by then), and the retired key stays in
// the JWKS until the last token it may have signed has expired.

import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose'
import type { Db } from '../../db/client.ts'
import {
  currentSigningKey, rotateSigningKey, settleFirstSigningKey, verifyingSigningKey, verifyingSigningKeys,
  type NewSigningKey, type SigningKeyRow,
} from '../../db/queries/signing-keys.ts'
import { DEFAULT_MIN_REFRESH_MS } from '../../oci/auth/jwks-cache.ts'
import type { Jwks, JsonWebKeyWithKid, KeySource } from '../../oci/auth/types.ts'

export interface KeyStore {
  /** The key that signs now; creates the first key when the table is empty. */
  signingKey(): Promise<{ kid: string; alg: 'ES256'; key: CryptoKey }>
  /** A new key, published now, signs from `signsAt` (ISO 8601) on; the previous one signs until
   * then and verifies until its last token expired. */
  rotate(): Promise<RotatedKey>
  /** The public keys of the current key and of retired keys still verifying. */
  jwks(): Promise<Jwks>
  /** For the origin's own verifier (oci/auth/verify.ts). */
  keySource: KeySource
}

// A type, not an interface, so it passes where a plain record is expected (the admin audit line).
export type RotatedKey = {
  kid: string
  /** The key it replaces, or null when there was none. */
  retired: string | null
  /** When the new key starts signing (ISO 8601). */
  signsAt: string
}

/**
 * How long an origin keeps using the key it read (ms). Another origin's rotation reaches it within
 * this, so a retired key must also verify tokens signed this long after it was retired.
 */
export const KEY_CACHE_MS = 5_000

/**
 * How long a rotated-in key is published before it signs (ms): an edge that fetched the JWKS just
 * before the rotation may not fetch it again for DEFAULT_MIN_REFRESH_MS, an origin may read the
 * table KEY_CACHE_MS late, plus a margin for clocks and slow fetches. Every origin agrees on the
 * switch whatever its own setting, since the moment is stored (the old key's retiredAt).
 */
export const ACTIVATION_DELAY_MS = DEFAULT_MIN_REFRESH_MS + KEY_CACHE_MS + 10_000

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

// Parsed once per row read (rows are re-read every KEY_CACHE_MS): the verifier asks for the key on
// every authorised request, its cached tokens included.
const parsedKeys = new WeakMap<SigningKeyRow, JsonWebKeyWithKid>()
function publicOf(row: SigningKeyRow): JsonWebKeyWithKid {
  let key = parsedKeys.get(row)
  if (!key) parsedKeys.set(row, key = { ...(JSON.parse(row.publicJwk) as JsonWebKey), kid: row.kid, alg: row.alg })
  return key
}

export interface KeyStoreOptions {
  tokenSeconds?: number
  clockSkewSeconds?: number
  /** See ACTIVATION_DELAY_MS (its default). The first key of an empty table signs at once. */
  activationDelayMs?: number
  now?: () => number
}

export function createKeyStore(db: Db, options: KeyStoreOptions = {}): KeyStore {
  const { tokenSeconds = 300, clockSkewSeconds = 30, activationDelayMs = ACTIVATION_DELAY_MS, now = Date.now } = options
  // `until`: the read is reused up to KEY_CACHE_MS, but never past the key's scheduled retirement.
  let current: { kid: string; key: CryptoKey; until: number } | null = null
  let verifying: { rows: Map<string, SigningKeyRow>; readAt: number } | null = null
  // One read at a time however many requests find the cache expired; a rotation (generation + 1)
  // keeps a read started before it from being kept.
  let reading: Promise<Map<string, SigningKeyRow>> | null = null
  let generation = 0

  const stillVerifies = (row: SigningKeyRow, at: number) => row.retiredAt === null || (row.verifyUntil ?? 0) > at

  async function use(row: SigningKeyRow, at: number) {
    // The same kid is the same key: keep the imported one rather than import it again.
    const key = current?.kid === row.kid ? current.key : await importJWK(JSON.parse(row.privateJwk) as JsonWebKey, 'ES256') as CryptoKey
    current = { kid: row.kid, key, until: Math.min(at + KEY_CACHE_MS, row.retiredAt ?? Infinity) }
    return { kid: row.kid, alg: 'ES256' as const, key }
  }

  function verifyingRows(at: number): Promise<Map<string, SigningKeyRow>> {
    if (verifying && at - verifying.readAt < KEY_CACHE_MS) return Promise.resolve(verifying.rows)
    const started = generation
    reading ??= verifyingSigningKeys(db, at).then((list) => {
      const rows = new Map(list.map((r) => [r.kid, r]))
      if (started === generation) verifying = { rows, readAt: at }
      return rows
    }).finally(() => { reading = null })
    return reading
  }

  return {
    async signingKey() {
      const at = now()
      if (current && at < current.until) return { kid: current.kid, alg: 'ES256', key: current.key }
      const row = await currentSigningKey(db, at) ?? await settleFirstSigningKey(db, await newKey(), at)
      return use(row, at)
    },

    async rotate() {
      const key = await newKey()
      const at = now()
      const signsFrom = at + Math.max(0, activationDelayMs)
      // The old key's last token is signed at signsFrom (or up to KEY_CACHE_MS later by an origin
      // that read the table just before).
      const verifyUntil = signsFrom + KEY_CACHE_MS + (tokenSeconds + clockSkewSeconds) * 1000
      const retired = await rotateSigningKey(db, key, signsFrom, verifyUntil, at)
      generation++
      verifying = null
      current = null
      await use((await currentSigningKey(db, at))!, at)
      // No key to retire (an empty table): the new one signs at once.
      return { kid: key.kid, retired: retired[0] ?? null, signsAt: new Date(retired.length > 0 ? signsFrom : at).toISOString() }
    },

    async jwks() {
      return { keys: (await verifyingSigningKeys(db, now())).map(publicOf) }
    },

    keySource: {
      async key(kid) {
        const at = now()
        const rows = await verifyingRows(at)
        let row = rows.get(kid) ?? null
        // A kid made since the last read (another origin rotated): a primary-key lookup, cheap.
        if (!row) {
          row = await verifyingSigningKey(db, kid, at)
          if (row) rows.set(kid, row)
        }
        return row && stillVerifies(row, at) ? publicOf(row) : null
      },
    },
  }
}
