// Multipart calls of the s3 driver (storage/drivers/s3.ts): a put body cut into parts, and a
// server-side copy too large for one CopyObject. Either ends in CompleteMultipartUpload, which is
// atomic, or aborts the upload: nothing partial is ever visible. Portable.

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import type { S3Client } from '@aws-sdk/client-s3'
import type { BodyReader } from '../body-reader.ts'
import { StorageError } from '../engine.ts'

const MiB = 1024 * 1024
const OWN_KEY = /^(?:blobs|uploads)\//

export interface PartsUpload {
  client: S3Client
  bucket: string
  /** The object's key in the bucket, prefix included. */
  objectKey: string
  /** The engine's location and key, for messages. */
  location: string
  key: string
  /** The first part's size; S3 wants at least 5 MiB for every part but the last. */
  partSize: number
}

/**
 * Writes `body` as one PutObject when it fits the first part, else as a multipart upload that is
 * completed only after the body ended cleanly and aborted otherwise.
 */
export async function putInParts(target: PartsUpload, body: BodyReader, size: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  const { client, bucket, objectKey: Key, location, key, partSize } = target
  // At most 10,000 parts: a known size fixes the part size; an unknown one doubles it every
  // 1,000 parts (8 MiB parts reach 8 GiB, then 16 MiB ...), so memory grows only past 8 GiB.
  const fixed = size !== undefined ? Math.max(partSize, Math.ceil(size / 10_000)) : undefined
  const sizeOfPart = (n: number) => fixed ?? partSize * 2 ** Math.floor((n - 1) / 1000)
  const cutter = new PartCutter(body)
  let part = await cutter.next(sizeOfPart(1))
  if (part.last) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: part.data, ContentLength: part.data.byteLength }), { abortSignal: signal })
    return
  }
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }), { abortSignal: signal })
  if (!UploadId) throw new StorageError('unknown', location, `put ${key}: no upload id from CreateMultipartUpload`)
  type Done = { PartNumber: number; ETag?: string }
  const done: Done[] = []
  // Part n uploads while part n+1 is read; at most two parts are in memory (three, briefly,
  // while the next one is joined from its chunks).
  const inFlight: Array<Promise<Done>> = []
  try {
    for (let PartNumber = 1; ; PartNumber++) {
      const data = part.data
      const upload = client.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber, Body: data, ContentLength: data.byteLength }), { abortSignal: signal })
        .then((res) => ({ PartNumber, ETag: res.ETag }))
      // Marked handled now: a failure surfaces at the await below, not as an unhandled rejection.
      upload.catch(() => {})
      inFlight.push(upload)
      if (inFlight.length > 1) done.push(await inFlight.shift()!)
      if (part.last) break
      part = await cutter.next(sizeOfPart(PartNumber + 1))
    }
    done.push(await inFlight.shift()!)
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: done } }), { abortSignal: signal })
  } catch (err) {
    // Let the parts in flight settle, so the abort is not overtaken by them, then clean up.
    await Promise.allSettled(inFlight)
    await abortQuietly(client, bucket, Key, UploadId)
    throw err
  }
}

/**
 * Cuts a body into parts of the sizes asked for. It reads one chunk past each part before handing
 * it over, so it can tell the last part (PutObject suffices when the first part is the last).
 */
class PartCutter {
  private readonly body: BodyReader
  private chunks: Uint8Array[] = []
  private held = 0
  private ended = false

  constructor(body: BodyReader) {
    this.body = body
  }

  async next(size: number): Promise<{ data: Uint8Array; last: boolean }> {
    while (!this.ended && this.held <= size) {
      const chunk = await this.body.next()
      if (chunk === null) this.ended = true
      else if (chunk.byteLength > 0) {
        this.chunks.push(chunk)
        this.held += chunk.byteLength
      }
    }
    const length = Math.min(size, this.held)
    const data = new Uint8Array(length)
    for (let offset = 0; offset < length;) {
      const chunk = this.chunks[0]
      const take = Math.min(chunk.byteLength, length - offset)
      data.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), offset)
      offset += take
      if (take === chunk.byteLength) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(take)
    }
    this.held -= length
    return { data, last: this.ended && this.held === 0 }
  }
}

/**
 * Best effort: some stores (s3rver) do not implement AbortMultipartUpload; the temporary sweep
 * (sweepMultipartUploads) or the bucket's lifecycle rules clean up.
 */
async function abortQuietly(client: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => {})
}

/**
 * Aborts the multipart uploads under `prefix` that a crashed put left open (S3 bills their parts
 * until then), when nothing happened to them since `olderThan`: initiated before it and no part
 * uploaded after it. A live put uploads a part per partSize bytes read, so one that reads slower
 * than partSize per grace period can be aborted: its Complete then fails, and nothing partial is
 * ever visible. Stores without ListMultipartUploads (s3rver answers NotImplemented) have nothing
 * to sweep here: their lifecycle rules are the only cleanup.
 */
export async function sweepMultipartUploads(client: S3Client, bucket: string, prefix: string, olderThan: Date, dryRun: boolean): Promise<{ items: number; bytes: number }> {
  const swept = { items: 0, bytes: 0 }
  let KeyMarker: string | undefined
  let UploadIdMarker: string | undefined
  do {
    let page
    try {
      page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix || undefined, KeyMarker, UploadIdMarker }))
    } catch (err) {
      if ((err as { name?: string }).name === 'NotImplemented') return swept
      throw err
    }
    for (const upload of page.Uploads ?? []) {
      if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated >= olderThan) continue
      // Locations may share a bucket: one without a prefix must not sweep another's uploads, so
      // only keys of Meridian's own layout (storage/keys.ts) count.
      if (!OWN_KEY.test(upload.Key.slice(prefix.length))) continue
      const { newest, bytes } = await partsOf(client, bucket, upload.Key, upload.UploadId)
      if (newest !== null && newest >= olderThan) continue
      if (!dryRun) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }))
      swept.items++
      swept.bytes += bytes
    }
    KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined
    UploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined
  } while (KeyMarker !== undefined)
  return swept
}

/** The newest part's upload time and the parts' total size. */
async function partsOf(client: S3Client, bucket: string, key: string, uploadId: string): Promise<{ newest: Date | null; bytes: number }> {
  let newest: Date | null = null
  let bytes = 0
  let PartNumberMarker: string | undefined
  do {
    const page = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker }))
    for (const part of page.Parts ?? []) {
      bytes += part.Size ?? 0
      if (part.LastModified && (newest === null || part.LastModified > newest)) newest = part.LastModified
    }
    PartNumberMarker = page.IsTruncated ? page.NextPartNumberMarker : undefined
  } while (PartNumberMarker !== undefined)
  return { newest, bytes }
}

/**
 * Server-side copy of an object over 5 GiB: UploadPartCopy in parts of at least 512 MiB, four at a
 * time, each pinned to the source's ETag so a source replaced mid-copy fails the copy instead of
 * mixing two objects. s3rver lacks UploadPartCopy: storage/drivers/s3-copy-parts.test.ts runs it
 * against moto, with a small copy limit and parts.
 */
export async function copyInParts(client: S3Client, job: { bucket: string; key: string; copySource: string; size: number; etag?: string; partSize?: number }): Promise<void> {
  const { bucket: Bucket, key: Key, copySource: CopySource, size, etag, partSize = 512 * MiB } = job
  const partBytes = Math.max(5 * MiB, partSize, Math.ceil(size / 10_000))
  const count = Math.ceil(size / partBytes)
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }))
  if (!UploadId) throw new Error('no upload id from CreateMultipartUpload')
  const parts: Array<{ PartNumber: number; ETag?: string }> = []
  let next = 0
  let failed = false
  async function worker(): Promise<void> {
    while (!failed && next < count) {
      const index = next++
      const start = index * partBytes
      const end = Math.min(size, start + partBytes) - 1
      try {
        const res = await client.send(new UploadPartCopyCommand({
          Bucket, Key, UploadId, PartNumber: index + 1, CopySource, CopySourceRange: `bytes=${start}-${end}`, CopySourceIfMatch: etag,
        }))
        parts[index] = { PartNumber: index + 1, ETag: res.CopyPartResult?.ETag }
      } catch (err) {
        failed = true
        throw err
      }
    }
  }
  const results = await Promise.allSettled(Array.from({ length: Math.min(4, count) }, worker))
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  try {
    if (rejected) throw rejected.reason
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }))
  } catch (err) {
    await abortQuietly(client, Bucket, Key, UploadId)
    throw err
  }
}
