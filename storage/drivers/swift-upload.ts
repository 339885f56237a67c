// Writes for the swift driver (storage/drivers/swift.ts). An object up to `segmentSize` is one
// streamed PUT: Swift's object server writes a temp file and renames it only once the whole body
// arrived, so a body that fails midway (the connection is cut) stores nothing. A larger one is a
// Static Large Object: segments streamed one after another to `<segment container>/<object>/
// <upload id>/<index>`, then the manifest (`?multipart-manifest=put`, which checks every
// segment's ETag and size) committed last, the one moment the object changes. A failed upload
// deletes the segments it wrote; an overwritten large object's old segments go after the commit.
// Memory: at most `bufferSize` when the size is unknown (to tell a small body from a large one),
// otherwise the chunks in flight. Portable.

import { StorageError } from '../engine.ts'
import type { ObjectInfo, PutOptions } from '../engine.ts'
import { BodyReader } from '../body-reader.ts'
import type { SwiftClient } from './swift-client.ts'

export interface SwiftStore {
  client: SwiftClient
  location: string
  container: string
  segmentContainer: string
  /** The largest object written in one PUT, and the size of a large object's segments. */
  segmentSize: number
  /** A body of unknown size is held up to this many bytes to decide between the two. */
  bufferSize: number
}

/** A manifest entry as `?multipart-manifest=put` takes it (and `&format=raw` gives it back). */
export interface Segment {
  path: string
  etag: string
  size_bytes: number
}

/** Swift's default `max_manifest_segments`. */
const MAX_SEGMENTS = 1000

export async function putObject(store: SwiftStore, object: string, key: string, stream: ReadableStream<Uint8Array>, options: PutOptions): Promise<ObjectInfo> {
  const { client, location } = store
  const body = new BodyReader(stream, { location, key, size: options.size, signal: options.signal, secrets: client.secrets })
  const chunks = new Chunks(body)
  try {
    const size = options.size
    if (size !== undefined && size <= store.segmentSize) {
      await putWhole(store, object, key, chunks, options.signal)
      return { key, size: body.bytes, modified: new Date() }
    }
    if (size === undefined) {
      const buffered = await chunks.fill(store.bufferSize)
      if (buffered !== null) {
        const res = await client.request('PUT', client.path(store.container, object), `put ${key}`, { body: buffered, signal: options.signal })
        if (res.status !== 201) throw await client.fail(res, `put ${key}`)
        await res.body?.cancel()
        return { key, size: body.bytes, modified: new Date() }
      }
    }
    // A declared size chooses the segment size that keeps within Swift's segment count.
    const segmentSize = size === undefined ? store.segmentSize : Math.max(store.segmentSize, Math.ceil(size / MAX_SEGMENTS))
    await putLarge(store, object, key, chunks, segmentSize, options.signal)
    return { key, size: body.bytes, modified: new Date() }
  } catch (err) {
    throw body.failure(chunks.error ?? err)
  }
}

async function putWhole(store: SwiftStore, object: string, key: string, chunks: Chunks, signal?: AbortSignal): Promise<void> {
  const { client } = store
  const doing = `put ${key}`
  // Unbounded here: the body reader fails a body longer or shorter than declared before its end
  // reaches Swift, so such a PUT is cut and stores nothing.
  const res = await client.request('PUT', client.path(store.container, object), doing, { body: chunks.stream(Infinity), signal })
  if (chunks.error) throw chunks.error
  if (res.status !== 201) throw await client.fail(res, doing)
  await res.body?.cancel()
}

async function putLarge(store: SwiftStore, object: string, key: string, chunks: Chunks, segmentSize: number, signal?: AbortSignal): Promise<void> {
  const { client, segmentContainer } = store
  const doing = `put ${key}`
  const upload = `${object}/${crypto.randomUUID()}/`
  const segments: Segment[] = []
  const written: string[] = []
  try {
    do {
      if (segments.length >= MAX_SEGMENTS) throw new StorageError('invalid', store.location, `${doing}: more than ${MAX_SEGMENTS} segments of ${segmentSize} bytes`)
      const name = upload + String(segments.length).padStart(8, '0')
      written.push(name)
      const before = chunks.bytes
      const res = await client.request('PUT', client.path(segmentContainer, name), doing, { body: chunks.stream(segmentSize), signal })
      if (chunks.error) throw chunks.error
      if (res.status !== 201) throw await client.fail(res, `${doing}: segment ${segments.length}`)
      await res.body?.cancel()
      segments.push({ path: `/${segmentContainer}/${name}`, etag: unquote(res.headers.get('etag')), size_bytes: chunks.bytes - before })
    } while (!(await chunks.ended()))
    if (segments.length === 1) {
      // A body of unknown size that fit one segment after all: a plain object, copied server-side.
      const res = await client.request('PUT', client.path(store.container, object), doing, {
        headers: { 'X-Copy-From': client.path(segmentContainer, written[0]!), 'Content-Length': '0' },
        timeoutMs: 600_000,
      })
      if (res.status !== 201) throw await client.fail(res, doing)
      await res.body?.cancel()
      // The object is in place: a segment left here is the sweep's (swift-sweep.ts), not a failure.
      await deleteSegments(store, segments.map((s) => s.path)).catch(() => {})
      return
    }
    await commitManifest(store, object, doing, segments)
  } catch (err) {
    await deleteSegments(store, written.map((name) => `/${segmentContainer}/${name}`)).catch(() => {})
    throw err
  }
}

// A blob key (storage/keys.ts: blobs/<algorithm>/<2 hex>/<hex>), under any prefix: its bytes are
// fixed by its name, and every writer verified them against it while streaming.
const CONTENT_ADDRESSED = /(?:^|\/)blobs\/sha(?:256|512)\/[0-9a-f]{2}\/[0-9a-f]+$/

/**
 * Makes `object` the large object of `segments` (atomic: readers see the old object until the
 * manifest lands). The segments of a large object it replaces are not deleted here: a reader may
 * still be streaming the old object, segment by segment, so they are left to the sweep
 * (swift-sweep.ts deletes segments no manifest names, once past its grace). And a blob key that is
 * already a large object of this size holds these very bytes (two pushes or a replication of one
 * layer): it stays as it is, readers and all, and the new segments go instead.
 */
export async function commitManifest(store: SwiftStore, object: string, doing: string, segments: Segment[]): Promise<void> {
  const { client } = store
  if (CONTENT_ADDRESSED.test(object)) {
    const existing = await headObject(store, object)
    const size = segments.reduce((sum, s) => sum + s.size_bytes, 0)
    if (existing?.segments && existing.size === size) {
      await deleteSegments(store, segments.map((s) => s.path)).catch(() => {})
      return
    }
  }
  const res = await client.request('PUT', client.path(store.container, object), doing, {
    query: { 'multipart-manifest': 'put' },
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(segments),
    // Swift checks each segment (a HEAD apiece) before it answers.
    timeoutMs: 120_000,
  })
  if (res.status !== 201) throw await client.fail(res, `${doing}: manifest`)
  await res.body?.cancel()
}

export interface SwiftObjectHead {
  size: number
  modified?: Date
  /** The manifest's segments for a large object; null for a plain one. */
  segments: Segment[] | null
}

/** What `object` of `container` (this location's by default) is, or null when it is missing. */
export async function headObject(store: SwiftStore, object: string, container = store.container): Promise<SwiftObjectHead | null> {
  const { client } = store
  const path = client.path(container, object)
  const head = await client.request('HEAD', path, `stat ${object}`)
  await head.body?.cancel()
  if (head.status === 404) return null
  if (!head.ok) throw await client.fail(head, `stat ${object}`)
  const modified = head.headers.get('last-modified')
  const info = { size: Number(head.headers.get('content-length') ?? 0), modified: modified ? new Date(modified) : undefined, segments: null }
  if (head.headers.get('x-static-large-object')?.toLowerCase() !== 'true') return info
  const res = await client.request('GET', path, `read the manifest of ${object}`, { query: { 'multipart-manifest': 'get', format: 'raw' } })
  if (res.status === 404) return null
  if (!res.ok) throw await client.fail(res, `read the manifest of ${object}`)
  return { ...info, segments: await res.json() as Segment[] }
}

/** Deletes segments by path (`/<container>/<name>`), a few at a time; missing ones are fine. */
export async function deleteSegments(store: SwiftStore, paths: string[]): Promise<void> {
  const { client } = store
  const queue = [...paths]
  const worker = async () => {
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
      const [, container, ...rest] = path.split('/')
      const res = await client.request('DELETE', client.path(decodeURIComponent(container!), rest.join('/')), `delete segment ${path}`)
      await res.body?.cancel()
      if (!res.ok && res.status !== 404) throw await client.fail(res, `delete segment ${path}`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker))
}

export function unquote(etag: string | null): string {
  return (etag ?? '').replace(/^"|"$/g, '')
}

/**
 * The put body as a queue of chunks, cut into request bodies of at most a given size. Failures of
 * the body (or of its size check) are kept in `error`: fetch reports them as its own.
 */
class Chunks {
  bytes = 0
  error: unknown = null
  private readonly queue: Uint8Array[] = []
  private done = false
  private readonly body: BodyReader
  constructor(body: BodyReader) {
    this.body = body
  }

  private async next(max: number): Promise<Uint8Array | null> {
    let chunk = this.queue.shift() ?? (this.done ? null : await this.body.next())
    if (chunk === null) {
      this.done = true
      return null
    }
    if (chunk.byteLength > max) {
      this.queue.unshift(chunk.subarray(max))
      chunk = chunk.subarray(0, max)
    }
    this.bytes += chunk.byteLength
    return chunk
  }

  /** Whether the body has no byte left. */
  async ended(): Promise<boolean> {
    while (this.queue.length === 0 && !this.done) {
      const chunk = await this.body.next()
      if (chunk === null) this.done = true
      else if (chunk.byteLength > 0) this.queue.push(chunk)
    }
    return this.queue.length === 0
  }

  /** The whole body when it ends within `limit` bytes; else null, with what was read kept queued. */
  async fill(limit: number): Promise<Uint8Array | null> {
    let held = 0
    while (!this.done && held <= limit) {
      const chunk = await this.body.next()
      if (chunk === null) this.done = true
      else {
        this.queue.push(chunk)
        held += chunk.byteLength
      }
    }
    if (held > limit) return null
    const whole = new Uint8Array(held)
    let at = 0
    for (const chunk of this.queue.splice(0)) {
      whole.set(chunk, at)
      at += chunk.byteLength
    }
    this.bytes = held
    return whole
  }

  /** A request body of the next `limit` bytes (fewer at the end of the body). */
  stream(limit: number): ReadableStream<Uint8Array> {
    let left = limit
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const chunk = left > 0 ? await this.next(left) : null
          if (chunk === null) return controller.close()
          left -= chunk.byteLength
          controller.enqueue(chunk)
        } catch (err) {
          this.error ??= err
          controller.error(err)
        }
      },
    }, { highWaterMark: 0 })
  }
}
