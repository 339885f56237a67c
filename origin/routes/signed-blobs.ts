// Serves the signed URLs of local-disk locations (storage/signed-url.ts, README "Redirects to
// local disk (signed URLs)"): `GET|HEAD /_meridian/blobs/<location>/<key>?expires=&signature=`.
// An edge redirects a pull here as it would to an S3 presigned URL. The URL is the credential:
// no Authorization header is needed or read, and no database is consulted (the edge redirects
// only to locations its index says hold the blob; bytes gone since answer 404 BLOB_UNKNOWN, and the
// edge tries the next location). Like S3, the URL is checked when a request starts, not while
// its body flows. Bodies are the fs driver's streams, which the origin's Node leaf sends natively
// (origin/send-file.ts).

import { Hono } from 'hono'
import { ociError } from '../../oci/errors.ts'
import { contentRangeHeader, parseRangeHeader } from '../../oci/range.ts'
import type { ByteRange, GetResult, ObjectInfo } from '../../storage/engine.ts'
import { digestOfBlobKey } from '../../storage/keys.ts'
import { MIN_SIGNING_KEY_LENGTH, SIGNED_BLOB_PATH, importSigningKey, parseSignedBlobPath, verifyBlobUrl } from '../../storage/signed-url.ts'
import type { Location, LocationSet } from '../locations.ts'
import { describeError, silentLogger, type Logger } from '../log.ts'

export { SIGNED_BLOB_PATH }

export interface SignedBlobDeps {
  locations: LocationSet
  /** The deployment's URL signing key (origin/url-signing-key.ts). */
  urlSigningKey: string
  log?: Logger
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number
}

const DENIALS = {
  expired: 'signed URL expired',
  forged: 'signature does not match',
  'invalid-target': 'only blob keys of a location are served here',
} as const

/** Mount at SIGNED_BLOB_PATH. */
export function createSignedBlobRoutes({ locations, urlSigningKey, log = silentLogger, now = Date.now }: SignedBlobDeps): Hono {
  // Refused here, at start, rather than as a failed import on the first request.
  if (urlSigningKey.length < MIN_SIGNING_KEY_LENGTH) throw new RangeError(`a URL signing key needs at least ${MIN_SIGNING_KEY_LENGTH} characters`)
  const app = new Hono()
  const secret = importSigningKey(urlSigningKey)

  app.get('/*', async (c) => {
    // The raw path, not decoded: a key is plain ASCII (storage/guard.ts), so an escaped '/' or
    // '.' is simply no key, never a second spelling of one.
    const target = parseSignedBlobPath(new URL(c.req.url).pathname)
    if (!target) throw ociError('NOT_FOUND', { detail: { path: c.req.path } })
    const nowSeconds = Math.floor(now() / 1000)
    const check = await verifyBlobUrl({ ...target, expires: c.req.query('expires') ?? null, signature: c.req.query('signature') ?? null, secret: await secret, now: nowSeconds })
    if (check !== 'valid') throw ociError('DENIED', { message: DENIALS[check] })

    const digest = digestOfBlobKey(target.key)!
    const location = locations.get(target.location)
    // Only disks that name a public URL are served this way; a URL for any other is for no blob here.
    if (!location || typeof location.config.params.publicUrl !== 'string') throw ociError('BLOB_UNKNOWN', { detail: { digest } })

    c.header('Docker-Content-Digest', digest)
    c.header('Accept-Ranges', 'bytes')
    c.header('Content-Type', 'application/octet-stream')
    // Immutable bytes, but the answer is only as public as the URL: no shared cache, and a
    // private one keeps it no longer than the URL lives.
    c.header('Cache-Control', `private, max-age=${Math.max(0, Number(c.req.query('expires')) - nowSeconds)}`)
    // Hono sends HEAD here: answered from a stat, never by opening the bytes.
    if (c.req.method === 'HEAD') {
      const info = await read(location, digest, () => location.engine.stat(target.key))
      c.header('Content-Length', String(info.size))
      return c.body(null, 200)
    }
    const rangeHeader = c.req.header('range') ?? null
    let range: ByteRange | undefined
    if (rangeHeader !== null) {
      const info = await read(location, digest, () => location.engine.stat(target.key))
      range = parseRangeHeader(rangeHeader, info.size) ?? undefined
    }
    const got = await read(location, digest, () => location.engine.get(target.key, { range }))
    if (range) {
      // Clamped by the driver too; the same numbers unless the file changed size (it cannot: blobs are immutable).
      const served = got.range ?? range
      c.header('Content-Range', contentRangeHeader(served, got.size))
      c.header('Content-Length', String(served.end - served.start + 1))
      return c.body(got.body, 206)
    }
    c.header('Content-Length', String(got.size))
    return c.body(got.body, 200)
  })

  /** A storage answer: absent is BLOB_UNKNOWN, a failing disk 503 (and the location marked down). */
  async function read<T extends ObjectInfo | GetResult>(location: Location, digest: string, call: () => Promise<T | null>): Promise<T> {
    let result: T | null
    try {
      result = await call()
    } catch (err) {
      locations.markDown(location.id, err)
      log.warn('signed blob read failed', { location: location.id, digest, error: describeError(err) })
      throw ociError('UNAVAILABLE', { message: 'the location holding the blob is not reachable', detail: { digest } })
    }
    if (result === null) throw ociError('BLOB_UNKNOWN', { detail: { digest } })
    return result
  }

  return app
}
