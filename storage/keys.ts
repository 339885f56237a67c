// The object layout, written down once (ARCHITECTURE §4.2). Every engine uses the same keys; the
// fs driver puts them under the location's root directory.
//
//   blobs/<algorithm>/<first two hex>/<hex>        content-addressed blob and manifest bytes
//   uploads/<session uuid>/<part index, 8 digits>.<nonce>   parts of an upload session, in order
//                                                (the nonce makes racing writers' parts distinct)
//   uploads/probe/write                            one byte an origin writes and deletes at once to
//                                                learn whether the location takes writes
//
// Nothing else is written by Meridian (the fs driver's own `.tmp/` and `.meridian-location` sit
// beside the keys, never among them). Everything lives under blobs/ and uploads/, so a bucket
// policy granting those two prefixes is enough. Keys never start with '/', never contain '..', '\\' or
// empty segments (storage/guard.ts enforces it).

import { parseDigest, tryParseDigest } from '../oci/digest.ts'

export function blobKey(digest: string): string {
  const { algorithm, hex } = parseDigest(digest)
  return `blobs/${algorithm}/${hex.slice(0, 2)}/${hex}`
}

/**
 * The digest a blob key names, or null when `key` is not exactly `blobs/<algorithm>/<first two
 * hex>/<hex>` of a supported digest: what makes a signed URL digest-bound (storage/signed-url.ts).
 */
export function digestOfBlobKey(key: string): string | null {
  const parts = key.split('/')
  if (parts.length !== 4 || parts[0] !== 'blobs') return null
  const [, algorithm, fanout, hex] = parts as [string, string, string, string]
  const digest = `${algorithm}:${hex}`
  return tryParseDigest(digest) && fanout === hex.slice(0, 2) ? digest : null
}

export function uploadPrefix(sessionId: string): string {
  if (!/^[0-9a-f-]{36}$/.test(sessionId)) throw new Error(`invalid upload session id: ${sessionId}`)
  return `uploads/${sessionId}/`
}

/** The key of part `index`; `nonce` '' names a part stored before nonces existed. */
export function uploadPartKey(sessionId: string, index: number, nonce: string): string {
  if (!/^[0-9a-f]*$/.test(nonce)) throw new Error(`invalid upload part nonce: ${nonce}`)
  return `${uploadPrefix(sessionId)}${String(index).padStart(8, '0')}${nonce ? `.${nonce}` : ''}`
}

/**
 * The object a write probe stores and deletes at once (origin/locations.ts). Under uploads/, because
 * a credential scoped to blobs/* and uploads/* (an S3 IAM policy) must be able to write it, or the
 * location would look down for writes forever. `probe` is no session id (uploadPrefix takes only
 * UUIDs; the cleanup's part pattern wants 36 hex characters), so nothing takes it for a part and
 * cleanup leaves it alone. One fixed key: origins probing together overwrite and delete each
 * other's copy harmlessly (a put is atomic, a delete idempotent), and a process killed mid-probe
 * leaves at most this one byte, which the next probe removes.
 */
export const PROBE_KEY = 'uploads/probe/write'
