// A location in an S3 bucket (AWS, or any S3-compatible store: R2, MinIO, Ceph, s3rver in tests).
// Portable: @aws-sdk/client-s3 picks its HTTP handler per runtime.
//
// Key `k` lives at `<prefix><k>`. A put buffers at most about two parts: one uploading while the
// next is read (storage/drivers/s3-multipart.ts). Neither S3 call shape leaves a partial object:
// PutObject and CompleteMultipartUpload are each atomic, and both happen only after the body has
// ended cleanly.

import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { StorageError } from '../engine.ts'
import type { ByteRange, GetResult, ListPage, ObjectInfo, PutOptions, StorageEngine } from '../engine.ts'
import { BodyReader } from '../body-reader.ts'
import { toStorageError } from '../errors.ts'
import { assertKey, assertPrefix, assertRange, listLimit, resolveRange } from '../guard.ts'
import { copyInParts, putInParts, sweepMultipartUploads } from './s3-multipart.ts'

export interface S3EngineOptions {
  location: string
  bucket: string
  region: string
  /** For S3-compatible stores; AWS when absent. */
  endpoint?: string
  /** Path-style URLs (`host/bucket/key`), which most S3-compatible stores need. */
  forcePathStyle?: boolean
  /** The SDK's default provider chain (environment, profile, instance role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** Prepended to every key, so several locations can share a bucket. '/' is added if missing. */
  prefix?: string
  /** Multipart part size. S3 wants at least 5 MiB for every part but the last. */
  partSize?: number
  /** Default lifetime of presigned URLs, in seconds. */
  presignExpiresIn?: number
  /** How long to wait for a TCP connection before calling the location unavailable. */
  connectTimeoutMs?: number
  /** Attempts per request, the first included (the SDK backs off between them). */
  maxAttempts?: number
  /**
   * Server-side copies of larger objects go part by part (UploadPartCopy): CopyObject's limit, 5
   * GiB. Smaller only in tests, to reach that path without writing 5 GiB.
   */
  singleCopyLimit?: number
  /** Bytes per UploadPartCopy (at least 5 MiB; raised to stay within 10,000 parts). */
  copyPartSize?: number
}

const MiB = 1024 * 1024

export function createS3Engine(options: S3EngineOptions): StorageEngine {
  const {
    location, bucket, region, endpoint, forcePathStyle, credentials,
    partSize = 8 * MiB, presignExpiresIn = 300, connectTimeoutMs = 2000, maxAttempts = 3,
    singleCopyLimit = 5 * 1024 * MiB, copyPartSize = 512 * MiB,
  } = options
  const keyPrefix = options.prefix ? options.prefix.replace(/\/*$/, '/') : ''
  const secrets = credentials ? [credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken ?? ''] : []
  const client = new S3Client({
    region,
    endpoint,
    forcePathStyle,
    credentials,
    maxAttempts,
    // A down location must fail in seconds, not after the OS's minutes-long connect timeout: with
    // the defaults, three 2 s attempts. A socket idle for 15 s (a hung server, mid-body too) fails
    // its attempt; S3 keeps slow CompleteMultipartUpload and CopyObject calls alive with whitespace.
    requestHandler: { connectionTimeout: connectTimeoutMs, socketTimeout: 15_000 },
    // Since SDK 3.729 the default adds CRC32 checksums (as aws-chunked trailers on streams), which
    // many S3-compatible stores reject. Our own digest verification covers integrity end to end.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })

  // Two locations can copy server-side when they talk to the same service as the same principal.
  const service = `${endpoint ?? `aws:${region}`}|${credentials?.accessKeyId ?? 'default-chain'}`
  const objectKey = (key: string) => {
    assertKey(key, location)
    return keyPrefix + key
  }
  const fail = (err: unknown, doing: string) => toStorageError(err, location, doing, secrets)

  async function head(key: string): Promise<{ size: number; etag?: string; modified?: Date } | null> {
    try {
      const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }))
      return { size: res.ContentLength ?? 0, etag: res.ETag, modified: res.LastModified }
    } catch (err) {
      // HEAD responses have no body, so a missing bucket also reads as NotFound here.
      if (isMissing(err)) return null
      throw fail(err, `stat ${key}`)
    }
  }

  return {
    location,
    driver: 's3',

    async stat(key) {
      const info = await head(key)
      return info ? { key, size: info.size, modified: info.modified } : null
    },

    async get(key, { range, signal } = {}): Promise<GetResult | null> {
      const Key = objectKey(key)
      if (range) assertRange(range, location)
      let res
      try {
        res = await client.send(new GetObjectCommand({ Bucket: bucket, Key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }), { abortSignal: signal })
      } catch (err) {
        if (isMissing(err)) return null
        if ((err as { name?: string }).name === 'InvalidRange' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) {
          throw new StorageError('invalid', location, `range ${range?.start}-${range?.end} starts past the end of ${key}`)
        }
        throw fail(err, `get ${key}`)
      }
      if (!res.Body) throw new StorageError('unknown', location, `get ${key}: response without a body`)
      const stream = res.Body.transformToWebStream() as ReadableStream<Uint8Array>
      const { size, served } = sizeFromResponse(res.ContentRange, res.ContentLength)
      if (!range) return { body: stream, size }
      let wanted: ByteRange
      try {
        wanted = resolveRange(range, size, location, key)!
      } catch (err) {
        await stream.cancel().catch(() => {})
        throw err
      }
      // Some stores ignore or widen a range (s3rver serves `bytes=0-0` whole): cut it to size.
      const from = served ?? { start: 0, end: size - 1 }
      if (from.start > wanted.start || from.end < wanted.end) {
        await stream.cancel().catch(() => {})
        throw new StorageError('unknown', location, `get ${key}: asked for bytes ${wanted.start}-${wanted.end}, served ${from.start}-${from.end}`)
      }
      const exact = from.start === wanted.start && from.end === wanted.end
      const body = exact ? stream : trimToRange(stream, wanted.start - from.start, wanted.end - wanted.start + 1)
      return { body, size, range: wanted }
    },

    async put(key, stream, options: PutOptions = {}): Promise<ObjectInfo> {
      const Key = objectKey(key)
      const body = new BodyReader(stream, { location, key, size: options.size, signal: options.signal, secrets })
      try {
        await putInParts({ client, bucket, objectKey: Key, location, key, partSize }, body, options.size, options.signal)
      } catch (err) {
        throw body.failure(err)
      }
      return { key, size: body.bytes, modified: new Date() }
    },

    async delete(key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) }))
      } catch (err) {
        // S3 answers 204 for a missing key; some compatible stores answer 404.
        if (isMissing(err)) return
        throw fail(err, `delete ${key}`)
      }
    },

    async list(prefix, options = {}): Promise<ListPage> {
      assertPrefix(prefix, location)
      const limit = listLimit(options.limit)
      try {
        // ListObjects (v1) with Marker = the last key of the previous page: the same cursor as
        // every other driver, valid across restarts. v2's ContinuationToken would do on AWS, but
        // s3rver mints those with DES, which OpenSSL 3 dropped, so any truncated v2 page is a 500.
        const res = await client.send(new ListObjectsCommand({
          Bucket: bucket,
          Prefix: keyPrefix + prefix,
          Marker: options.cursor !== undefined ? keyPrefix + options.cursor : undefined,
          MaxKeys: limit,
        }))
        const keys = (res.Contents ?? [])
          .filter((o) => o.Key !== undefined)
          .map((o) => ({ key: o.Key!.slice(keyPrefix.length), size: o.Size ?? 0, modified: o.LastModified }))
        return { keys, cursor: res.IsTruncated && keys.length > 0 ? keys[keys.length - 1].key : null }
      } catch (err) {
        throw fail(err, `list ${prefix}`)
      }
    },

    /**
     * With a range, the Range header is signed into the URL: the client must send exactly
     * `Range: bytes=<start>-<end>` (as it does when it follows a redirect of its own ranged GET).
     */
    async presign(key, { expiresIn = presignExpiresIn, range } = {}) {
      const Key = objectKey(key)
      try {
        const command = new GetObjectCommand({ Bucket: bucket, Key, Range: range ? `bytes=${range.start}-${range.end}` : undefined })
        return await getSignedUrl(client, command, { expiresIn })
      } catch (err) {
        throw fail(err, `presign ${key}`)
      }
    },

    async copySource(key) {
      const source = await head(key)
      return source ? { kind: 's3', service, bucket, key: objectKey(key) } : null
    },

    // Between buckets of one S3 service reachable with these credentials: CopyObject (or
    // UploadPartCopy past 5 GiB). Another service or other credentials: null, the caller streams.
    async copyFrom(source, key, size) {
      if (source.kind !== 's3' || source.service !== service) return null
      const CopySource = encodeURI(`${source.bucket}/${source.key}`)
      try {
        if (size <= singleCopyLimit) await client.send(new CopyObjectCommand({ Bucket: bucket, Key: objectKey(key), CopySource }))
        else await copyInParts(client, { bucket, key: objectKey(key), copySource: CopySource, size, partSize: copyPartSize })
        return { key, size, modified: new Date() }
      } catch (err) {
        if (isMissing(err)) return null
        throw fail(err, `copy ${key} from ${source.bucket}`)
      }
    },

    async copy(fromKey, toKey) {
      const to = objectKey(toKey)
      const source = await head(fromKey)
      if (!source) return null
      // S3 refuses to copy an object onto itself unchanged; it is already there.
      if (fromKey === toKey) return { key: toKey, size: source.size, modified: source.modified }
      const CopySource = encodeURI(`${bucket}/${objectKey(fromKey)}`)
      try {
        if (source.size <= singleCopyLimit) {
          const res = await client.send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource, CopySourceIfMatch: source.etag }))
          return { key: toKey, size: source.size, modified: res.CopyObjectResult?.LastModified }
        }
        await copyInParts(client, { bucket, key: to, copySource: CopySource, size: source.size, etag: source.etag, partSize: copyPartSize })
        return { key: toKey, size: source.size, modified: new Date() }
      } catch (err) {
        if (isMissing(err)) return null
        throw fail(err, `copy ${fromKey} to ${toKey}`)
      }
    },

    async sweepTemporary(olderThan, { dryRun = false } = {}) {
      try {
        return await sweepMultipartUploads(client, bucket, keyPrefix, olderThan, dryRun)
      } catch (err) {
        throw fail(err, 'sweep open multipart uploads')
      }
    },

    async close() {
      client.destroy()
    },
  }
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } }
  if (e?.name === 'NoSuchKey' || e?.name === 'NotFound') return true
  return e?.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket'
}

/** The whole object's size, and the range served when the response is partial (Content-Range). */
function sizeFromResponse(contentRange: string | undefined, contentLength: number | undefined): { size: number; served?: ByteRange } {
  const match = contentRange ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange) : null
  if (!match) return { size: contentLength ?? 0 }
  return { size: Number(match[3]), served: { start: Number(match[1]), end: Number(match[2]) } }
}

/** Drops the first `skip` bytes of `source`, passes on the next `take`, then cancels it. */
function trimToRange(source: ReadableStream<Uint8Array>, skip: number, take: number): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return controller.error(new Error(`object ended ${take} bytes before the end of the range`))
        let chunk = value
        if (skip >= chunk.byteLength) {
          skip -= chunk.byteLength
          continue
        }
        chunk = chunk.subarray(skip, skip + Math.min(take, chunk.byteLength - skip))
        skip = 0
        take -= chunk.byteLength
        controller.enqueue(chunk)
        if (take === 0) {
          controller.close()
          await reader.cancel().catch(() => {})
        }
        return
      }
    },
    cancel: (reason) => reader.cancel(reason),
  })
}
