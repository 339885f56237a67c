// A local-disk location as seen from afar (an edge): the disk belongs to one Meridian origin, which
// serves its blobs at signed URLs (storage/signed-url.ts, origin/routes/signed-blobs.ts). This
// engine presigns those URLs without the disk (for redirects), and reads through them (for
// proxying: stat is a HEAD, get a GET with Range). Read-only: puts, deletes and lists belong to the
// origin that owns the disk. Portable: fetch and Web Streams only.

import { StorageError } from '../engine.ts'
import type { GetResult, ObjectInfo, StorageEngine } from '../engine.ts'
import { assertKey, resolveRange } from '../guard.ts'
import { digestOfBlobKey } from '../keys.ts'
import { createBlobUrlSigner, type SigningSecret } from '../signed-url.ts'
import { bodyOf } from '../response-body.ts'

export interface SignedUrlEngineOptions {
  location: string
  /** The public base URL of the origin that owns the disk (the location's `params.publicUrl`). */
  publicUrl: string
  /** The deployment's URL signing key. */
  secret: SigningSecret
  /** Lifetime of the URLs presign hands out, in seconds (storage/presign-lifetime.ts). */
  expiresIn?: number
  /** Lifetime of the URLs this engine follows itself: a read starts at once. */
  readExpiresIn?: number
  fetch?: typeof fetch
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/

export function createSignedUrlEngine({ location, publicUrl, secret, expiresIn, readExpiresIn = 60, fetch: fetchFn = fetch }: SignedUrlEngineOptions): StorageEngine {
  const signer = createBlobUrlSigner({ baseUrl: publicUrl, location, secret, expiresIn })
  const readOnly = (operation: string) => Promise.reject(new StorageError('denied', location, `${operation}: ${location} is a local-disk location reached through signed URLs, read-only here`))

  /** Only blob keys have signed URLs: any other key is no object this engine can see. */
  function blobOnly(key: string): boolean {
    assertKey(key, location)
    return digestOfBlobKey(key) !== null
  }

  async function request(key: string, init: RequestInit): Promise<Response | null> {
    const url = await signer.sign(key, { expiresIn: readExpiresIn })
    let res: Response
    try {
      res = await fetchFn(url, { ...init, redirect: 'manual' })
    } catch (err) {
      if (init.signal?.aborted) throw new StorageError('aborted', location, `${init.method} ${key} aborted`, { cause: err })
      throw new StorageError('unavailable', location, `${init.method} ${key}: the origin owning ${location} is not reachable`, { cause: err })
    }
    if (res.status === 404) {
      await res.body?.cancel()
      return null
    }
    if (res.ok) return res
    await res.body?.cancel()
    // 403: this side's key is not the origin's (a configuration fault, not the object's absence).
    if (res.status === 403) throw new StorageError('denied', location, `${init.method} ${key}: the origin refused the signed URL (is MERIDIAN_URL_SIGNING_KEY the same on both sides?)`)
    if (res.status === 416) throw new StorageError('invalid', location, `${init.method} ${key}: range not satisfiable`)
    throw new StorageError('unavailable', location, `${init.method} ${key}: the origin answered ${res.status}`)
  }

  return {
    location,
    driver: 'signed-url',

    async stat(key): Promise<ObjectInfo | null> {
      if (!blobOnly(key)) return null
      const res = await request(key, { method: 'HEAD' })
      if (!res) return null
      return { key, size: Number(res.headers.get('content-length') ?? 0) }
    },

    async get(key, options = {}): Promise<GetResult | null> {
      if (!blobOnly(key)) return null
      const { range, signal } = options
      const headers: Record<string, string> = range ? { Range: `bytes=${range.start}-${range.end}` } : {}
      const res = await request(key, { method: 'GET', headers, signal })
      if (!res?.body) return null
      if (res.status === 206) {
        const match = CONTENT_RANGE.exec(res.headers.get('content-range') ?? '')
        if (!match) {
          await res.body.cancel()
          throw new StorageError('unavailable', location, `GET ${key}: a 206 without a usable Content-Range`)
        }
        const size = Number(match[3])
        return { body: bodyOf(res), size, range: { start: Number(match[1]), end: Number(match[2]) } }
      }
      const size = Number(res.headers.get('content-length') ?? NaN)
      if (!Number.isSafeInteger(size)) {
        await res.body.cancel()
        throw new StorageError('unavailable', location, `GET ${key}: no Content-Length`)
      }
      // A server may ignore Range and send everything (RFC 9110 §14.2): a range asked for must
      // then be cut out here; the origin's route always honours it, so that is only a safeguard.
      if (range) {
        await res.body.cancel()
        resolveRange(range, size, location, key)
        throw new StorageError('unavailable', location, `GET ${key}: the origin ignored the range`)
      }
      return { body: bodyOf(res), size }
    },

    async presign(key, options = {}) {
      if (!blobOnly(key)) return null
      return signer.sign(key, { expiresIn: options.expiresIn })
    },

    put: () => readOnly('put'),
    delete: () => readOnly('delete'),
    list: () => readOnly('list'),
  }
}
