// Signed URLs for local-disk locations (README "Redirects to local disk (signed URLs)"). A cloud
// location redirects pulls to its store's presigned URLs; a location on a disk redirects them to
// the Meridian process that owns the disk, with a URL only a holder of the deployment's signing key
// can make:
//
//   <publicUrl>/_meridian/blobs/<location>/<key>?expires=<unix seconds>&signature=<base64url>
//
// signature = HMAC-SHA256(key, "meridian-blob-url-v1\nGET\n<location>\n<key>\n<expires>"). It binds
// the method, the location, the key and the expiry: change any of them and it no longer verifies.
// Only content-addressed keys (`blobs/<algorithm>/<xx>/<hex>`, storage/keys.ts) are ever signed, so
// a URL names immutable bytes of one digest (digest-bound), never an upload part or a path outside
// the layout. Signing needs the key and nothing else (no disk, no database): the edge signs, on
// any runtime, and the origin verifies. Portable: crypto.subtle and TextEncoder only.

import { digestOfBlobKey } from './keys.ts'
import { DEFAULT_PRESIGN_SECONDS, MAX_PRESIGN_SECONDS } from './presign-lifetime.ts'

/** Where the origin serves signed blob URLs (origin/routes/signed-blobs.ts). */
export const SIGNED_BLOB_PATH = '/_meridian/blobs'

/** A location id, as origin/config/locations.ts accepts them (kept here: storage sits below it). */
const LOCATION_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/

/** The shortest key a deployment may sign with: 32 characters (`openssl rand -base64 32` gives 44). */
export const MIN_SIGNING_KEY_LENGTH = 32

const SCHEME = 'meridian-blob-url-v1'
const encoder = new TextEncoder()

/** The key as text (from configuration), or imported once with importSigningKey. */
export type SigningSecret = string | CryptoKey

/** Imports a deployment's signing key for HMAC-SHA256; reuse the result, importing costs more than signing. */
export async function importSigningKey(secret: string): Promise<CryptoKey> {
  if (secret.length < MIN_SIGNING_KEY_LENGTH) throw new RangeError(`a URL signing key needs at least ${MIN_SIGNING_KEY_LENGTH} characters`)
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
}

const keyOf = (secret: SigningSecret) => (typeof secret === 'string' ? importSigningKey(secret) : Promise.resolve(secret))

/** Why a location/key pair may not be signed or served, or null when it may. */
function targetProblem(location: string, key: string): string | null {
  if (!LOCATION_ID.test(location)) return `invalid location id ${JSON.stringify(location)}`
  if (digestOfBlobKey(key) === null) return `only blob keys (blobs/<algorithm>/<xx>/<hex>) are signed, not ${JSON.stringify(key)}`
  return null
}

async function signatureOf(secret: SigningSecret, location: string, key: string, expires: number): Promise<Uint8Array> {
  const message = encoder.encode(`${SCHEME}\nGET\n${location}\n${key}\n${expires}`)
  return new Uint8Array(await crypto.subtle.sign('HMAC', await keyOf(secret), message))
}

export interface SignBlobUrlOptions {
  /** The public base URL of the process that owns the location's disk, without a trailing slash. */
  baseUrl: string
  location: string
  /** A blob key (storage/keys.ts blobKey); anything else is refused. */
  key: string
  /** Unix time in seconds after which the URL is refused. */
  expiresAt: number
  secret: SigningSecret
}

/** The signed URL of `key` in `location`. Throws a RangeError for anything but a blob key. */
export async function signBlobUrl({ baseUrl, location, key, expiresAt, secret }: SignBlobUrlOptions): Promise<string> {
  const problem = targetProblem(location, key)
  if (problem) throw new RangeError(problem)
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new RangeError(`invalid expiry ${expiresAt}`)
  const signature = toBase64Url(await signatureOf(secret, location, key, expiresAt))
  return `${baseUrl.replace(/\/+$/, '')}${SIGNED_BLOB_PATH}/${location}/${key}?expires=${expiresAt}&signature=${signature}`
}

/** What a signed URL's check found. Only 'valid' may be served. */
export type SignedUrlCheck = 'valid' | 'expired' | 'forged' | 'invalid-target'

export interface VerifyBlobUrlOptions {
  location: string
  key: string
  /** The `expires` and `signature` query parameters as received (null when missing). */
  expires: string | null
  signature: string | null
  secret: SigningSecret
  /** Unix seconds; defaults to the clock. */
  now?: number
}

/**
 * Checks a signed URL's parts. The signature is compared in constant time; an expiry further out
 * than MAX_PRESIGN_SECONDS is refused too (no signer here makes one). Expired means the signature
 * is genuine but the time is up: a forged URL never learns whether its expiry would have passed.
 */
export async function verifyBlobUrl({ location, key, expires, signature, secret, now = Math.floor(Date.now() / 1000) }: VerifyBlobUrlOptions): Promise<SignedUrlCheck> {
  if (targetProblem(location, key)) return 'invalid-target'
  if (expires === null || signature === null || !/^\d{1,15}$/.test(expires)) return 'forged'
  const given = fromBase64Url(signature)
  if (!given) return 'forged'
  const expected = await signatureOf(secret, location, key, Number(expires))
  if (!equalInConstantTime(given, expected)) return 'forged'
  const at = Number(expires)
  if (at < now || at > now + MAX_PRESIGN_SECONDS) return 'expired'
  return 'valid'
}

/** The location and key a signed-blob path names (after SIGNED_BLOB_PATH), or null when it names none. */
export function parseSignedBlobPath(pathname: string): { location: string; key: string } | null {
  if (!pathname.startsWith(`${SIGNED_BLOB_PATH}/`)) return null
  const rest = pathname.slice(SIGNED_BLOB_PATH.length + 1)
  const slash = rest.indexOf('/')
  if (slash <= 0) return null
  return { location: rest.slice(0, slash), key: rest.slice(slash + 1) }
}

export interface BlobUrlSigner {
  /** A URL for GET of `key`, valid for `expiresIn` seconds (the signer's default when absent). */
  sign(key: string, options?: { expiresIn?: number }): Promise<string>
}

export interface BlobUrlSignerOptions {
  baseUrl: string
  location: string
  secret: SigningSecret
  /** Default lifetime in seconds (storage/presign-lifetime.ts). */
  expiresIn?: number
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number
}

/** One location's signer: the key imported once, lifetimes checked against the bounds. */
export function createBlobUrlSigner({ baseUrl, location, secret, expiresIn = DEFAULT_PRESIGN_SECONDS, now = Date.now }: BlobUrlSignerOptions): BlobUrlSigner {
  let imported: Promise<CryptoKey> | null = null
  return {
    async sign(key, options = {}) {
      const seconds = options.expiresIn ?? expiresIn
      if (!Number.isInteger(seconds) || seconds <= 0 || seconds > MAX_PRESIGN_SECONDS) {
        throw new RangeError(`a signed URL lives 1 to ${MAX_PRESIGN_SECONDS} seconds, not ${seconds}`)
      }
      imported ??= keyOf(secret)
      return signBlobUrl({ baseUrl, location, key, expiresAt: Math.floor(now() / 1000) + seconds, secret: await imported })
    },
  }
}

function equalInConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Decodes unpadded base64url; null when `text` is not that (padding, '+', '/', junk). */
function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(text)) return null
  let binary: string
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  } catch {
    return null
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
  // One spelling per signature: stray bits in the last character would make a second URL verify.
  return toBase64Url(bytes) === text ? bytes : null
}
