// Account secrets as scrypt hashes (README "Access control"): `scrypt$<N>$<r>$<p>$<salt>$<hash>`,
// salt and hash in base64. The parameters live in the string, so stronger ones can come later
// without breaking stored hashes.

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const N = 2 ** 15
const R = 8
const P = 1
const SALT_BYTES = 16
const HASH_BYTES = 32
// scrypt needs 128·N·r bytes (32 MiB here) plus OpenSSL's overhead: above Node's 32 MiB default.
const MAX_MEM = 128 * 1024 * 1024
// A stored hash is ours, but cap what one verify may cost should the table ever be tampered with.
const MAX_N = 2 ** 20

function derive(secret: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret.normalize('NFC'), salt, length, { ...options, maxmem: MAX_MEM }, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await derive(secret, salt, HASH_BYTES, { N, r: R, p: P })
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`
}

interface Parsed { N: number; r: number; p: number; salt: Buffer; hash: Buffer }

function parseHash(stored: string): Parsed | null {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  if (![n, r, p].every((v) => Number.isSafeInteger(v) && v > 0) || n > MAX_N || (n & (n - 1)) !== 0 || r > 32 || p > 16) return null
  const salt = Buffer.from(parts[4]!, 'base64')
  const hash = Buffer.from(parts[5]!, 'base64')
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return null
  return { N: n, r, p, salt, hash }
}

// Spent when there is no account (or its hash is unreadable), so "no such user" takes as long as
// "wrong password": the name cannot be probed by timing.
const DUMMY_SALT = randomBytes(SALT_BYTES)
const DUMMY_HASH = Buffer.alloc(HASH_BYTES)

/** Constant-time check of `secret` against a stored hash; null (no account) spends a dummy hash and returns false. */
export async function verifySecret(secret: string, hash: string | null): Promise<boolean> {
  const parsed = hash === null ? null : parseHash(hash)
  if (!parsed) {
    const spent = await derive(secret, DUMMY_SALT, HASH_BYTES, { N, r: R, p: P })
    timingSafeEqual(spent, DUMMY_HASH)
    return false
  }
  const got = await derive(secret, parsed.salt, parsed.hash.length, { N: parsed.N, r: parsed.r, p: parsed.p })
  return timingSafeEqual(got, parsed.hash)
}

/** A robot's secret: 32 random bytes, base64url (43 characters). Shown once, stored only hashed. */
export function newRobotSecret(): string {
  return randomBytes(32).toString('base64url')
}

/** A generated password (the first admin's, a reset): 24 random bytes, base64url (32 characters). */
export function newPassword(): string {
  return randomBytes(24).toString('base64url')
}
