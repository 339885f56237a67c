// A location in a Google Cloud Storage bucket, with @google-cloud/storage. Node only (the SDK is
// built on Node streams), so this file is exempt from the portability fence (ARCHITECTURE §4.6).
//
// Key `k` lives at object `<prefix>/<k>`. GCS makes an object visible only when its upload is
// finalized, which is what makes puts atomic: a body that fits one chunk is read whole and sent
// as one simple upload; a larger one goes through a resumable upload in fixed chunks (the SDK
// holds one chunk; we wait for it to drain), whose last chunk, the only one that names the total
// size and so finalizes, is sent only after the body ended cleanly. A failed body destroys the
// upload before that: the session is left unfinalized and GCS drops it.

import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { Storage } from '@google-cloud/storage'
import type { Bucket, File, FileMetadata } from '@google-cloud/storage'
import { StorageError } from '../engine.ts'
import type { GetResult, ListPage, ObjectInfo, PresignOptions, PutOptions, StorageEngine } from '../engine.ts'
import { BodyReader } from '../body-reader.ts'
import { concatBytes } from '../../oci/bytes.ts'
import { downloadStream } from '../download-stream.ts'
import { toStorageError } from '../errors.ts'
import { assertKey, assertPrefix, listLimit, pageOf, resolveRange } from '../guard.ts'

export interface GcsEngineOptions {
  location: string
  bucket: string
  projectId?: string
  /** A service-account key file; Application Default Credentials when absent. */
  keyFilename?: string
  /** Another endpoint than storage.googleapis.com (an emulator, a private endpoint). */
  apiEndpoint?: string
  /** Prepended to every key with '/', so several locations can share a bucket. */
  prefix?: string
  /** Default lifetime of presigned URLs, in seconds. */
  presignExpiresIn?: number
  /** Bytes per resumable-upload chunk (a multiple of 256 KiB); smaller bodies go in one request. */
  chunkSize?: number
  /** Milliseconds a metadata request may take (retries included) before the location counts as down. */
  requestTimeoutMs?: number
  /** Milliseconds an upload may make no progress (a chunk not taken, the end not confirmed). */
  transferTimeoutMs?: number
}

export interface GcsEngine extends StorageEngine {
  presign(key: string, options?: PresignOptions): Promise<string | null>
  copy(fromKey: string, toKey: string): Promise<ObjectInfo | null>
}

const MiB = 1024 * 1024
const CONTENT_TYPE = 'application/octet-stream'

export function createGcsEngine(options: GcsEngineOptions): GcsEngine {
  const { location, presignExpiresIn = 300, chunkSize = 8 * MiB, requestTimeoutMs = 10_000, transferTimeoutMs = 120_000 } = options
  if (chunkSize % (256 * 1024) !== 0) throw new StorageError('invalid', location, `${location}: chunkSize must be a multiple of 256 KiB`)
  const keyPrefix = options.prefix ? `${options.prefix.replace(/^\/+|\/+$/g, '')}/` : ''
  const storage = new Storage({
    projectId: options.projectId,
    keyFilename: options.keyFilename,
    apiEndpoint: options.apiEndpoint,
    // A custom endpoint is usually an emulator (no auth); with a key file it is a private one.
    useAuthWithCustomEndpoint: options.apiEndpoint !== undefined && options.keyFilename !== undefined,
    // Retries are for blips; a location that is down must fail in seconds (its health is tracked
    // by the caller; `timed` bounds each metadata call). Delays in seconds, as the SDK counts them.
    retryOptions: { maxRetries: 1, maxRetryDelay: 1 },
  })
  const bucket: Bucket = storage.bucket(options.bucket)
  // Two locations can rewrite server-side when they talk to the same endpoint as the same project.
  const service = `${options.apiEndpoint ?? 'https://storage.googleapis.com'}|${options.projectId ?? ''}|${options.keyFilename ?? ''}`

  const objectName = (key: string) => {
    assertKey(key, location)
    return keyPrefix + key
  }
  const file = (key: string, generation?: string | number) => bucket.file(objectName(key), generation === undefined ? {} : { generation })
  const fail = (err: unknown, doing: string): StorageError => {
    if (isBucketMissing(err)) return new StorageError('unavailable', location, `${location}: ${doing}: bucket ${options.bucket} does not exist`)
    return toStorageError(withStatus(err), location, doing)
  }

  /** `call`, failing with StorageError('unavailable') when it takes longer than `ms`. */
  async function timed<T>(doing: string, call: () => Promise<T>, ms = requestTimeoutMs): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StorageError('unavailable', location, `${location}: ${doing}: no answer within ${ms} ms`)), ms)
    })
    try {
      return await Promise.race([call(), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  const info = (key: string, metadata: FileMetadata): ObjectInfo => ({
    key,
    size: Number(metadata.size ?? 0),
    modified: metadata.updated ? new Date(metadata.updated) : undefined,
  })

  async function metadataOf(key: string): Promise<FileMetadata | null> {
    const target = file(key)
    try {
      const [metadata] = await timed(`stat ${key}`, () => target.getMetadata())
      return metadata
    } catch (err) {
      if (isObjectMissing(err)) return null
      throw fail(err, `stat ${key}`)
    }
  }

  /** Whether the client can sign URLs: a service-account key, or ADC naming a service account. */
  let canSign: Promise<boolean> | null = null
  const signingAvailable = () => (canSign ??= storage.authClient.getCredentials().then((c) => Boolean(c.client_email), () => false))

  return {
    location,
    driver: 'gcs',

    async stat(key) {
      const metadata = await metadataOf(key)
      return metadata ? info(key, metadata) : null
    },

    async get(key, options = {}): Promise<GetResult | null> {
      const metadata = await metadataOf(key)
      if (!metadata) return null
      const size = Number(metadata.size ?? 0)
      const range = resolveRange(options.range, size, location, key)
      // Pinned to the generation measured above, so size and bytes always agree; an object
      // replaced meanwhile still serves its old bytes (or fails, if GCS already dropped them).
      const source = file(key, metadata.generation)
      const stream = size === 0 && !range
        ? null
        : source.createReadStream({ validation: false, decompress: false, ...(range ? { start: range.start, end: range.end } : {}) })
      const body = stream
        ? downloadStream(stream as AsyncIterable<Uint8Array>, { location, key, signal: options.signal, normalizeError: withStatus })
        : new ReadableStream<Uint8Array>({ start: (c) => c.close() })
      return range ? { body, size, range } : { body, size }
    },

    async put(key, stream, putOptions: PutOptions = {}) {
      const target = file(key)
      const doing = `put ${key}`
      const body = new BodyReader(stream, { location, key, size: putOptions.size, signal: putOptions.signal })
      let upload: Writable | null = null
      let finished: Promise<unknown> | null = null
      try {
        // Up to one chunk is read first: a body that ends within it needs no upload session.
        const held: Uint8Array[] = []
        let heldBytes = 0
        let chunk = await body.next()
        for (; chunk !== null && heldBytes + chunk.byteLength <= chunkSize; chunk = await body.next()) {
          held.push(chunk)
          heldBytes += chunk.byteLength
        }
        if (chunk === null) {
          await timed(doing, () => target.save(concatBytes(held, heldBytes), { resumable: false, validation: false, contentType: CONTENT_TYPE }), transferTimeoutMs)
          return info(key, target.metadata)
        }
        const writing = target.createWriteStream({ resumable: true, chunkSize, validation: false, contentType: CONTENT_TYPE })
        upload = writing
        finished = new Promise<void>((resolve, reject) => {
          writing.once('finish', resolve)
          writing.once('error', reject)
        })
        // Marked handled now: a failure surfaces at the next write or at the end.
        finished.catch(() => {})
        const stalled = () => new StorageError('unavailable', location, `${location}: ${doing}: upload made no progress for ${transferTimeoutMs} ms`)
        for (const piece of [...held, chunk]) await write(writing, piece, transferTimeoutMs, stalled)
        for (chunk = await body.next(); chunk !== null; chunk = await body.next()) await write(writing, chunk, transferTimeoutMs, stalled)
        writing.end()
        await timed(doing, () => finished!, transferTimeoutMs)
        return info(key, target.metadata)
      } catch (err) {
        if (upload && !upload.destroyed) upload.destroy(err instanceof Error ? err : new Error(String(err)))
        await finished?.catch(() => {})
        throw body.failure(fail(err, doing))
      }
    },

    async delete(key) {
      const target = file(key)
      try {
        await timed(`delete ${key}`, () => target.delete({ ignoreNotFound: true }))
      } catch (err) {
        throw fail(err, `delete ${key}`)
      }
    },

    async list(prefix, listOptions = {}): Promise<ListPage> {
      assertPrefix(prefix, location)
      const limit = listLimit(listOptions.limit)
      const { cursor } = listOptions
      const doing = `list ${prefix}`
      // The next page starts at the cursor with `startOffset` (inclusive, so that key is skipped;
      // so is anything before it, should a server ignore the offset).
      const found: ObjectInfo[] = []
      let pageToken: string | undefined
      try {
        do {
          const [files, next] = await timed(doing, () => bucket.getFiles({
            prefix: keyPrefix + prefix,
            ...(cursor !== undefined ? { startOffset: keyPrefix + cursor } : {}),
            maxResults: limit + 1,
            pageToken,
            autoPaginate: false,
          }))
          for (const f of files) {
            const key = f.name.slice(keyPrefix.length)
            if (cursor === undefined || key > cursor) found.push(info(key, f.metadata))
          }
          pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken || undefined
        } while (pageToken !== undefined && found.length <= limit)
      } catch (err) {
        throw fail(err, doing)
      }
      return pageOf(found, limit)
    },

    async presign(key, presignOptions = {}) {
      const target = file(key)
      if (!(await signingAvailable())) return null
      const seconds = presignOptions.expiresIn ?? presignExpiresIn
      try {
        const [url] = await target.getSignedUrl({ version: 'v4', action: 'read', expires: Date.now() + seconds * 1000 })
        return url
      } catch (err) {
        throw fail(err, `presign ${key}`)
      }
    },

    async copySource(key) {
      return (await metadataOf(key)) ? { kind: 'gcs', service, bucket: options.bucket, key: file(key).name } : null
    },

    // Between buckets of one GCS endpoint and project: a rewrite (server-side, looped by the SDK
    // for large objects, atomic at the destination). Anything else: null, the caller streams.
    async copyFrom(source, key, size) {
      if (source.kind !== 'gcs' || source.service !== service) return null
      const doing = `copy ${key} from ${source.bucket}`
      try {
        const [copied] = await timed(doing, () => storage.bucket(source.bucket).file(source.key).copy(file(key)), transferTimeoutMs)
        return info(key, copied.metadata)
      } catch (err) {
        if (isObjectMissing(err) || (err as { code?: unknown } | null)?.code === 501) return null
        throw fail(err, doing)
      }
    },

    async copy(fromKey, toKey) {
      const source = file(fromKey)
      const destination = file(toKey)
      const doing = `copy ${fromKey} to ${toKey}`
      if (fromKey === toKey) {
        const metadata = await metadataOf(fromKey)
        return metadata ? info(toKey, metadata) : null
      }
      try {
        // Rewrite: server-side, looped by the SDK for large objects, atomic at the destination.
        const [copied] = await timed(doing, () => source.copy(destination), transferTimeoutMs)
        return info(toKey, copied.metadata)
      } catch (err) {
        // Missing source; or a server without rewrite (emulators): the caller streams instead.
        if (isObjectMissing(err) || (err as { code?: unknown } | null)?.code === 501) return null
        throw fail(err, doing)
      }
    },
  }
}

/**
 * Writes `chunk`, waiting while the SDK holds a full chunk; fails if the upload failed, or with
 * `stalled()` if the chunk is not taken within `ms` (a hung server, or one that finalized early).
 */
async function write(stream: Writable, chunk: Uint8Array, ms: number, stalled: () => Error): Promise<void> {
  if (stream.destroyed) throw stream.errored ?? new Error('upload stream destroyed')
  if (stream.write(chunk)) return
  try {
    await once(stream, 'drain', { signal: AbortSignal.timeout(ms) })
  } catch (err) {
    throw (err as { name?: unknown } | null)?.name === 'AbortError' ? stalled() : err
  }
}

/** The SDK's ApiError carries the HTTP status as a numeric `code`; toStorageError reads `statusCode`. */
function withStatus(err: unknown): unknown {
  const e = err as { code?: unknown; statusCode?: unknown } | null
  if (e && typeof e === 'object' && typeof e.code === 'number' && e.statusCode === undefined) e.statusCode = e.code
  return err
}

function isObjectMissing(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 404 && !isBucketMissing(err)
}

function isBucketMissing(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null
  return e?.code === 404 && typeof e.message === 'string' && /bucket does not exist/i.test(e.message)
}
