// A location in an Azure Blob Storage container (block blobs), with @azure/storage-blob. Portable:
// no `node:` imports; the SDK picks its HTTP client per runtime (shared-key signing, and so
// presign and copy, work on Node only, where the origin runs).
//
// Key `k` lives at blob `<prefix>/<k>`. A body that fits one block is one Put Blob; a larger one
// is staged block by block (Put Block, one in flight while the next is read: about two blocks of
// memory) and made visible by one Put Block List, which is atomic. A body that fails commits
// nothing: Azure discards uncommitted blocks by itself. Block ids are the block's index and
// SHA-256, so concurrent puts of the same bytes (two clients pushing one layer) stage the same
// blocks, and whichever commits second finds them committed and succeeds too.

import { BlobSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob'
import type { BlobDownloadResponseParsed, BlockBlobClient, ContainerListBlobFlatSegmentResponse } from '@azure/storage-blob'
import { StorageError } from '../engine.ts'
import type { GetResult, ListPage, ObjectInfo, PresignOptions, PutOptions, StorageEngine } from '../engine.ts'
import { BodyReader } from '../body-reader.ts'
import { downloadStream } from '../download-stream.ts'
import { toStorageError } from '../errors.ts'
import { assertKey, assertPrefix, listLimit, pageOf } from '../guard.ts'
import { blockId, BlockCutter, MAX_BLOCK_SIZE, MAX_BLOCKS } from './azure-blocks.ts'
import { codeOf, isBlobMissing, secretsOf, serviceClient, statusOf, timedCalls } from './azure-client.ts'
import { createAzureCopy } from './azure-copy.ts'

export interface AzureEngineOptions {
  location: string
  container: string
  /** A storage connection string (account key or SAS); or the account fields below. */
  connectionString?: string
  accountName?: string
  /** Shared key: enables presign and server-side copy. */
  accountKey?: string
  /** A SAS token instead of the key (no presign: the token must not reach clients). */
  sasToken?: string
  /** Blob service URL (`https://<account>.blob.core.windows.net` when absent). */
  endpoint?: string
  /** Prepended to every key with '/', so several locations can share a container. */
  prefix?: string
  /** Bytes per staged block; raised when a declared size would need more than 50,000 blocks. */
  blockSize?: number
  /** Default lifetime of presigned URLs, in seconds. */
  presignExpiresIn?: number
  /** Milliseconds a request may take to answer (retries included) before the location counts as down. */
  requestTimeoutMs?: number
  /** The same for requests that carry a block or copy bytes server-side. */
  transferTimeoutMs?: number
  /** Larger objects are copied block by block from a URL rather than by one Copy Blob From URL. */
  syncCopyLimit?: number
  /** Bytes per Put Block From URL. */
  urlBlockSize?: number
}

/** The Azure engine, plus the server-side copy from another location that replication may use. */
export interface AzureEngine extends StorageEngine {
  presign(key: string, options?: PresignOptions): Promise<string | null>
  copy(fromKey: string, toKey: string): Promise<ObjectInfo | null>
  /**
   * Writes `key` from `url` (a presigned URL of another location) without the bytes passing
   * through this process: Put Block From URL in 100 MiB ranges, then one atomic commit. The
   * caller verifies nothing here, so `url` must serve exactly the `size` bytes it names. Null
   * when the service cannot (the caller then streams, as for `copy`).
   */
  copyFromUrl(url: string, key: string, size: number): Promise<ObjectInfo | null>
}

const MiB = 1024 * 1024

export function createAzureEngine(options: AzureEngineOptions): AzureEngine {
  const {
    location, container, blockSize = 8 * MiB, presignExpiresIn = 300,
    requestTimeoutMs = 10_000, transferTimeoutMs = 120_000,
    // Copy Blob From URL's limit; Put Block From URL's is 4000 MiB, but smaller ranges retry cheaper.
    syncCopyLimit = 256 * MiB, urlBlockSize = 100 * MiB,
  } = options
  const keyPrefix = options.prefix ? `${options.prefix.replace(/^\/+|\/+$/g, '')}/` : ''
  const secrets = [options.accountKey ?? '', options.sasToken ?? '', ...secretsOf(options.connectionString)]
  const service = serviceClient(options)
  const containerClient = service.getContainerClient(container)
  const sharedKey = service.credential instanceof StorageSharedKeyCredential ? service.credential : null

  const blobName = (key: string) => {
    assertKey(key, location)
    return keyPrefix + key
  }
  const blob = (key: string) => containerClient.getBlockBlobClient(blobName(key))
  const fail = (err: unknown, doing: string): StorageError => {
    // A missing container is the location's misconfiguration: down until an operator fixes it.
    if (codeOf(err) === 'ContainerNotFound') return new StorageError('unavailable', location, `${location}: ${doing}: container ${container} does not exist`)
    return toStorageError(err, location, doing, secrets)
  }
  const timed = timedCalls(location)

  /** Properties of a blob, or null when it does not exist (a missing container is an error). */
  async function properties(key: string): Promise<ObjectInfo | null> {
    const client = blob(key)
    try {
      const props = await timed(requestTimeoutMs, `stat ${key}`, undefined, (abortSignal) => client.getProperties({ abortSignal }))
      return { key, size: props.contentLength ?? 0, modified: props.lastModified }
    } catch (err) {
      if (isBlobMissing(err)) return null
      throw fail(err, `stat ${key}`)
    }
  }

  /** A read-only URL of the blob for the next `seconds`, or null without the shared key. */
  function readUrl(client: BlockBlobClient, seconds: number): string | null {
    if (sharedKey) {
      const sas = generateBlobSASQueryParameters({
        containerName: container,
        blobName: client.name,
        permissions: BlobSASPermissions.parse('r'),
        // No start time: a clock running ahead of Azure's would make the URL not yet valid.
        expiresOn: new Date(Date.now() + seconds * 1000),
      }, sharedKey).toString()
      return `${client.url}?${sas}`
    }
    return null
  }

  return {
    location,
    driver: 'azure',

    stat: (key) => properties(key),

    async get(key, options = {}): Promise<GetResult | null> {
      const client = blob(key)
      const { range, signal } = options
      let res: BlobDownloadResponseParsed
      try {
        // One request: Azure clamps an end past the last byte, answers 416 for a start past it.
        res = await timed(requestTimeoutMs, `get ${key}`, signal, (abortSignal) => range
          ? client.download(range.start, range.end - range.start + 1, { abortSignal, maxRetryRequests: 2 })
          : client.download(0, undefined, { abortSignal, maxRetryRequests: 2 }))
      } catch (err) {
        if (isBlobMissing(err)) return null
        if (statusOf(err) === 416) {
          throw new StorageError('invalid', location, `range ${range?.start}-${range?.end} starts past the end of ${key}`)
        }
        throw fail(err, `get ${key}`)
      }
      const body = bodyOf(res, location, key, signal)
      if (!range) return { body, size: res.contentLength ?? 0 }
      // Azurite answers a start at the very end (or any range of an empty blob) with 206 and
      // `bytes 100-99/100` where Azure says 416: the total tells.
      const served = /^bytes (\d+)-(-?\d+)\/(\d+)$/.exec(res.contentRange ?? '')
      if (!served || Number(served[1]) >= Number(served[3])) {
        await body.cancel()
        if (!served) throw new StorageError('unknown', location, `get ${key}: no Content-Range in a ranged answer`)
        throw new StorageError('invalid', location, `range ${range.start}-${range.end} starts past the end of ${key} (${served[3]} bytes)`)
      }
      return { body, size: Number(served[3]), range: { start: Number(served[1]), end: Number(served[2]) } }
    },

    async put(key, stream, options: PutOptions = {}) {
      const client = blob(key)
      const doing = `put ${key}`
      const body = new BodyReader(stream, { location, key, size: options.size, signal: options.signal })
      const size = options.size
      const cutter = new BlockCutter(size === undefined ? blockSize : Math.min(MAX_BLOCK_SIZE, Math.max(blockSize, Math.ceil(size / MAX_BLOCKS))))
      // Cancels the block in flight when the body fails; forwards the caller's abort.
      const stop = new AbortController()
      const forward = () => stop.abort(options.signal?.reason)
      options.signal?.addEventListener('abort', forward, { once: true })
      const ids: string[] = []
      let inFlight: Promise<unknown> | null = null
      // In an object: TypeScript would otherwise narrow it to null across the closure below.
      const failed: { stage: { err: unknown } | null } = { stage: null }

      const stage = async (block: Uint8Array<ArrayBuffer>) => {
        await inFlight
        if (failed.stage) throw failed.stage.err
        if (ids.length >= MAX_BLOCKS) throw new StorageError('invalid', location, `${doing}: more than ${MAX_BLOCKS} blocks`)
        const id = await blockId(ids.length, block)
        ids.push(id)
        inFlight = timed(transferTimeoutMs, doing, stop.signal, (abortSignal) => client.stageBlock(id, block, block.byteLength, { abortSignal }))
          // Recorded now, thrown at the next step: never an unhandled rejection meanwhile.
          .catch((err: unknown) => void (failed.stage ??= { err }))
      }

      try {
        for (let chunk = await body.next(); chunk !== null; chunk = await body.next()) {
          if (failed.stage) throw failed.stage.err
          for (const block of cutter.push(chunk)) await stage(block)
        }
        const rest = cutter.rest()
        let modified: Date | undefined
        if (ids.length === 0) {
          const res = await timed(transferTimeoutMs, doing, stop.signal, (abortSignal) => client.upload(rest, rest.byteLength, { abortSignal }))
          modified = res.lastModified
        } else {
          if (rest.byteLength > 0) await stage(rest)
          await inFlight
          if (failed.stage) throw failed.stage.err
          const res = await timed(transferTimeoutMs, doing, stop.signal, (abortSignal) => client.commitBlockList(ids, { abortSignal }))
          modified = res.lastModified
        }
        return { key, size: body.bytes, modified }
      } catch (err) {
        stop.abort()
        await inFlight
        throw body.failure(codeOf(err) === 'InvalidBlockList'
          // Another put of other bytes committed first and so discarded our uncommitted blocks.
          ? new StorageError('conflict', location, `${doing}: a concurrent write replaced the staged blocks`)
          : fail(err, doing))
      } finally {
        options.signal?.removeEventListener('abort', forward)
      }
    },

    async delete(key) {
      const client = blob(key)
      try {
        await timed(requestTimeoutMs, `delete ${key}`, undefined, (abortSignal) => client.deleteIfExists({ abortSignal, deleteSnapshots: 'include' }))
      } catch (err) {
        throw fail(err, `delete ${key}`)
      }
    },

    async list(prefix, options = {}): Promise<ListPage> {
      assertPrefix(prefix, location)
      const limit = listLimit(options.limit)
      const { cursor } = options
      const doing = `list ${prefix}`
      // The next page starts from the cursor with `startFrom` (inclusive; service version
      // 2026-02-06). A service that ignores it (azurite 3.35) starts over, so keys up to the
      // cursor are skipped here, in pages as large as Azure serves.
      const found: ObjectInfo[] = []
      let marker: string | undefined
      let pageSize = limit + 1
      do {
        const page = await timed(requestTimeoutMs, doing, undefined, async (abortSignal): Promise<ContainerListBlobFlatSegmentResponse | undefined> => {
          const pages = containerClient.listBlobsFlat({ prefix: keyPrefix + prefix, startFrom: cursor && keyPrefix + cursor, abortSignal })
            .byPage({ maxPageSize: pageSize, continuationToken: marker })
          return (await pages.next()).value
        }).catch((err: unknown) => {
          throw fail(err, doing)
        })
        for (const item of page?.segment.blobItems ?? []) {
          const key = item.name.slice(keyPrefix.length)
          if (cursor !== undefined && key <= cursor) {
            pageSize = 5000
            continue
          }
          found.push({ key, size: item.properties.contentLength ?? 0, modified: item.properties.lastModified })
        }
        // Azure may answer fewer items than asked, even none, with a marker: keep going.
        marker = page?.continuationToken || undefined
      } while (marker !== undefined && found.length <= limit)
      return pageOf(found, limit)
    },

    async presign(key, options = {}) {
      return readUrl(blob(key), options.expiresIn ?? presignExpiresIn)
    },

    ...createAzureCopy({ blob, timed, fail, properties, readUrl, requestTimeoutMs, transferTimeoutMs, syncCopyLimit, urlBlockSize }),
  }
}

/**
 * The download as a web stream: on Node the SDK hands a Node stream (async-iterable, and retried
 * by the SDK if the connection drops; see storage/download-stream.ts); under its fetch client
 * (workerd) the response's own web stream, put in the same place by streamBodies()
 * (azure-client.ts), not retried. A Blob only if that policy were missing.
 */
function bodyOf(res: BlobDownloadResponseParsed, location: string, key: string, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  const nodeBody = res.readableStreamBody as unknown as AsyncIterable<Uint8Array> | undefined
  if (!nodeBody) {
    const blobBody = res.blobBody
    if (!blobBody) return new ReadableStream({ start: (c) => c.close() })
    let reader: ReadableStreamDefaultReader<Uint8Array> | null = null
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        reader ??= (await blobBody).stream().getReader()
        const r = await reader.read()
        if (r.done) controller.close()
        else controller.enqueue(r.value)
      },
      cancel: (reason) => reader?.cancel(reason),
    }, { highWaterMark: 0 })
  }
  return downloadStream(nodeBody, { location, key, signal })
}
