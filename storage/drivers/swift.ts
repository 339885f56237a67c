// A location in an OpenStack Swift container (Quay's SwiftStorage), over Swift's HTTP API with
// fetch and Web Streams only, so it runs on the origin and on every edge runtime.
//
// Key `k` lives at object `<prefix>/<k>` of `container`; large objects' segments live in
// `<container>_segments` (storage/drivers/swift-upload.ts). Authentication: v1 or Keystone v3
// (storage/drivers/swift-auth.ts). Redirects: temp URLs signed with the account's or the
// container's temp URL key (storage/drivers/swift-temp-url.ts). Server-side copies within one
// account (storage/drivers/swift-copy.ts). Scratch space: segments of uploads that never
// committed (storage/drivers/swift-sweep.ts).

import { StorageError } from '../engine.ts'
import type { GetResult, ListPage, ObjectInfo, PresignOptions, StorageEngine } from '../engine.ts'
import { assertKey, assertPrefix, assertRange, listLimit, pageOf } from '../guard.ts'
import { createSwiftSession } from './swift-auth.ts'
import type { SwiftAuth, SwiftSession } from './swift-auth.ts'
import { createSwiftClient } from './swift-client.ts'
import type { SwiftRequest } from './swift-client.ts'
import { copyObject } from './swift-copy.ts'
import { sweepSegments } from './swift-sweep.ts'
import { swiftTempUrl } from './swift-temp-url.ts'
import { headObject, putObject } from './swift-upload.ts'
import type { SwiftStore } from './swift-upload.ts'
import { bodyOf } from '../response-body.ts'

export interface SwiftEngineOptions {
  location: string
  container: string
  /**
   * Without it the engine is read-only (an edge): stat and get through short-lived temp URLs,
   * which needs `tempUrlKey` and `storageUrl`; writes and listings fail with 'denied'.
   */
  auth?: SwiftAuth
  /** The account URL to use instead of the one the auth answers (`https://…/v1/AUTH_<project>`). */
  storageUrl?: string
  /** Prepended to every key with '/', so several locations can share a container. */
  prefix?: string
  /** Where large objects' segments go: `<container>_segments` by default (created on first use). */
  segmentContainer?: string
  /** Objects above this size are written as Static Large Objects of segments this size (5 GiB). */
  segmentSize?: number
  /** Bytes held to tell a small body of unknown size from a large one (8 MiB). */
  bufferSize?: number
  /** The account's (or the container's) temp URL key: enables presign. */
  tempUrlKey?: string
  /** Default lifetime of presigned URLs, in seconds. */
  presignExpiresIn?: number
  /** Milliseconds to wait for an answer's headers before the location counts as down. */
  requestTimeoutMs?: number
  fetch?: typeof fetch
}

export interface SwiftEngine extends StorageEngine {
  presign(key: string, options?: PresignOptions): Promise<string | null>
  copy(fromKey: string, toKey: string): Promise<ObjectInfo | null>
}

const MiB = 1024 * 1024

export function createSwiftEngine(options: SwiftEngineOptions): SwiftEngine {
  const {
    location, container, auth, tempUrlKey, presignExpiresIn = 300, requestTimeoutMs = 10_000,
    segmentSize = 5 * 1024 * MiB, bufferSize = 8 * MiB, fetch: fetcher = globalThis.fetch.bind(globalThis),
  } = options
  const keyPrefix = options.prefix ? `${options.prefix.replace(/^\/+|\/+$/g, '')}/` : ''
  const session = auth
    ? createSwiftSession({ location, auth, storageUrl: options.storageUrl, fetch: fetcher, timeoutMs: requestTimeoutMs })
    : withoutCredentials(location)
  const client = createSwiftClient({ location, session, fetch: fetcher, timeoutMs: requestTimeoutMs })
  const segmentContainer = options.segmentContainer ?? `${container}_segments`
  const store: SwiftStore = { client, location, container, segmentContainer, segmentSize, bufferSize: Math.min(bufferSize, segmentSize) }
  let segmentsReady: Promise<void> | null = null

  const objectName = (key: string) => {
    assertKey(key, location)
    return keyPrefix + key
  }

  /** Creates the segment container once (PUT is idempotent); a failure is retried next time. */
  function ensureSegmentContainer(): Promise<void> {
    segmentsReady ??= (async () => {
      const res = await client.request('PUT', client.path(segmentContainer), `create container ${segmentContainer}`)
      await res.body?.cancel()
      if (!res.ok) throw await client.fail(res, `create container ${segmentContainer}`)
    })().catch((err: unknown) => {
      segmentsReady = null
      throw err
    })
    return segmentsReady
  }

  /** A read with the token, or (read-only engine) through a temp URL valid for a minute. */
  async function read(method: 'GET' | 'HEAD', object: string, doing: string, init: SwiftRequest = {}): Promise<Response> {
    if (auth) return client.request(method, client.path(container, object), doing, init)
    if (tempUrlKey === undefined || options.storageUrl === undefined) {
      throw new StorageError('denied', location, `${location}: ${doing}: no credentials, and no tempUrlKey with storageUrl to read through`)
    }
    // Swift accepts a GET signature for HEAD too.
    const url = await swiftTempUrl({ storageUrl: options.storageUrl, objectPath: client.path(container, object), key: tempUrlKey, expires: Math.floor(Date.now() / 1000) + 60 })
    return client.fetchSigned(url, method, doing, init)
  }

  async function stat(key: string): Promise<ObjectInfo | null> {
    const res = await read('HEAD', objectName(key), `stat ${key}`)
    await res.body?.cancel()
    if (res.status === 404) return null
    if (!res.ok) throw await client.fail(res, `stat ${key}`)
    return infoOf(key, res)
  }

  return {
    location,
    driver: 'swift',

    stat,

    async get(key, { range, signal } = {}): Promise<GetResult | null> {
      const object = objectName(key)
      if (range) assertRange(range, location)
      const doing = `get ${key}`
      const res = await read('GET', object, doing, { headers: range ? { Range: `bytes=${range.start}-${range.end}` } : {}, signal })
      if (res.status === 404) {
        await res.body?.cancel()
        return null
      }
      if (res.status === 416) {
        await res.body?.cancel()
        throw new StorageError('invalid', location, `range ${range?.start}-${range?.end} starts past the end of ${key}`)
      }
      if (!res.ok || !res.body) throw await client.fail(res, doing)
      const size = Number(res.headers.get('content-length') ?? 0)
      if (!range) return { body: bodyOf(res), size }
      const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '')
      if (res.status === 206 && served) {
        return { body: bodyOf(res), size: Number(served[3]), range: { start: Number(served[1]), end: Number(served[2]) } }
      }
      // A 200 to a ranged GET is the whole object: only right when the range covers it.
      if (res.status === 200 && range.start === 0 && range.end >= size - 1 && size > 0) return { body: bodyOf(res), size, range: { start: 0, end: size - 1 } }
      await res.body.cancel()
      throw new StorageError('unknown', location, `${doing}: asked for bytes ${range.start}-${range.end}, got HTTP ${res.status} without a matching Content-Range`)
    },

    async put(key, body, putOptions = {}) {
      const object = objectName(key)
      // Only bodies that may be large need the segment container; the small ones skip the call.
      if (putOptions.size === undefined || putOptions.size > store.segmentSize) {
        try {
          await ensureSegmentContainer()
        } catch (err) {
          await body.cancel(err).catch(() => {})
          throw err
        }
      }
      return putObject(store, object, key, body, putOptions)
    },

    async delete(key) {
      const path = client.path(container, objectName(key))
      const doing = `delete ${key}`
      // The SLO middleware deletes a large object's segments, then its manifest; it refuses plain
      // objects ("Not an SLO manifest"), which an ordinary DELETE then removes.
      const res = await client.request('DELETE', path, doing, { query: { 'multipart-manifest': 'delete' }, headers: { Accept: 'application/json' } })
      if (res.status === 404) return void (await res.body?.cancel())
      if (!res.ok) throw await client.fail(res, doing)
      const outcome = await res.json().catch(() => null) as { 'Response Status'?: string; Errors?: unknown[][] } | null
      if (outcome?.['Response Status']?.startsWith('200')) return
      if (!JSON.stringify(outcome?.Errors ?? []).includes('Not an SLO manifest')) {
        throw new StorageError('unavailable', location, `${location}: ${doing}: ${outcome?.['Response Status'] ?? 'no outcome'}`)
      }
      const plain = await client.request('DELETE', path, doing)
      await plain.body?.cancel()
      if (!plain.ok && plain.status !== 404) throw await client.fail(plain, doing)
    },

    async list(prefix, listOptions = {}): Promise<ListPage> {
      assertPrefix(prefix, location)
      const limit = listLimit(listOptions.limit)
      const doing = `list ${prefix}`
      const res = await client.request('GET', client.path(container), doing, {
        query: {
          format: 'json', prefix: keyPrefix + prefix, limit: String(limit + 1),
          marker: listOptions.cursor === undefined ? undefined : keyPrefix + listOptions.cursor,
        },
      })
      // 204: an empty container, on older Swifts.
      if (res.status === 204) return { keys: [], cursor: null }
      if (!res.ok) throw await client.fail(res, doing)
      const rows = await res.json() as Array<{ name: string; bytes: number; last_modified?: string }>
      return pageOf(rows.map((row) => ({
        key: row.name.slice(keyPrefix.length),
        size: row.bytes,
        // Swift's listing times are UTC without a zone.
        modified: row.last_modified ? new Date(`${row.last_modified}Z`) : undefined,
      })), limit)
    },

    async presign(key, { expiresIn = presignExpiresIn } = {}) {
      const object = objectName(key)
      if (tempUrlKey === undefined) return null
      const storageUrl = options.storageUrl ?? await client.storageUrl()
      return swiftTempUrl({ storageUrl, objectPath: client.path(container, object), key: tempUrlKey, expires: Math.floor(Date.now() / 1000) + expiresIn })
    },

    async copy(fromKey, toKey) {
      const from = objectName(fromKey)
      const to = objectName(toKey)
      if (from === to) return stat(fromKey)
      await ensureSegmentContainer()
      const size = await copyObject(store, { container, object: from }, to)
      return size === null ? null : { key: toKey, size, modified: new Date() }
    },

    async copySource(key) {
      const object = objectName(key)
      if (!(await headObject(store, object))) return null
      return { kind: 'swift', service: await client.storageUrl(), container, object }
    },

    // Between containers of one account (the same storage URL): Swift copies; otherwise null and
    // the caller streams.
    async copyFrom(source, key, size) {
      const to = objectName(key)
      if (source.kind !== 'swift' || source.service !== await client.storageUrl()) return null
      await ensureSegmentContainer()
      const copied = await copyObject(store, { container: source.container, object: source.object }, to)
      if (copied === null) return null
      if (copied !== size) throw new StorageError('conflict', location, `copy ${key}: the source has ${copied} bytes, ${size} expected`)
      return { key, size, modified: new Date() }
    },

    // Segments of large-object uploads that never committed (storage/drivers/swift-sweep.ts).
    sweepTemporary: (olderThan, { dryRun = false } = {}) => sweepSegments(store, keyPrefix, olderThan, dryRun),
  }
}

function infoOf(key: string, res: Response): ObjectInfo {
  const modified = res.headers.get('last-modified')
  return { key, size: Number(res.headers.get('content-length') ?? 0), modified: modified ? new Date(modified) : undefined }
}

/** The session of an engine without credentials: every call that needs a token is refused. */
function withoutCredentials(location: string): SwiftSession {
  return {
    secrets: [],
    current: async () => {
      throw new StorageError('denied', location, `${location}: no Swift credentials here (read-only through temp URLs)`)
    },
    invalidate: () => {},
  }
}
