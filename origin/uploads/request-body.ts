// Request bodies as Web streams without a second copy. @hono/node-server hands the app
// Readable.toWeb(incoming), which in Node 20 copies every chunk ("to detach it from the pool") and
// queues only 16 KiB before pausing the socket. On a 1 GiB streamed PATCH (scripts/bench.ts) that
// copy cost ~0.25 s of main thread and doubled the garbage collections (68 → 36 scavenges without
// it; origin CPU 2.2 → 1.9 s). Body chunks of node:http requests are already fresh buffers of their
// own (the parser copies them out of the socket read), never slices of the shared Buffer pool, so
// they can be handed on as they are.

import type { IncomingMessage } from 'node:http'
import { finished } from 'node:stream'

/** Bytes queued ahead of the reader: the socket keeps reading while a disk write is in flight. */
const QUEUE_BYTES = 1024 * 1024

/** Whether `value` looks like a node:http request that nothing has started reading yet. */
export function isUnreadIncoming(value: unknown): value is IncomingMessage {
  const incoming = value as IncomingMessage | null
  return typeof incoming?.on === 'function' && typeof incoming.pause === 'function' && !incoming.readableDidRead && !incoming.destroyed
}

/**
 * The body of `incoming` as a byte stream with backpressure: the socket is paused while more than
 * `queueBytes` wait. Nothing is read until the first pull, so a handler that rejects a request
 * without reading it leaves the body to @hono/node-server's drain.
 */
export function incomingBody(incoming: IncomingMessage, queueBytes = QUEUE_BYTES): ReadableStream<Uint8Array> {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let attached = false
  let cancelled = false
  const onData = (chunk: Buffer | string) => {
    // A string only if someone called setEncoding(); a chunk under 4 KiB could in principle be a
    // pool slice. Copy those, pass the rest through.
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk.byteLength < 4096 ? new Uint8Array(chunk) : chunk
    controller.enqueue(bytes)
    if ((controller.desiredSize ?? 0) <= 0) incoming.pause()
  }
  const attach = () => {
    attached = true
    incoming.on('data', onData)
    finished(incoming, (err) => {
      incoming.off('data', onData)
      if (cancelled) return
      // A client that goes away mid-upload errors the stream, so the storage write is discarded.
      if (err) controller.error(err)
      else controller.close()
    })
  }
  return new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
    },
    pull() {
      if (!attached) attach()
      incoming.resume()
    },
    cancel() {
      // Stop reading, keep the socket: @hono/node-server drains the rest after the response
      // (bounded in bytes and time), so the client still receives the error.
      cancelled = true
      incoming.off('data', onData)
      incoming.pause()
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: queueBytes }))
}

/**
 * Bytes to queue ahead of a request's reader. None for a manifest PUT (the same path as its route,
 * `/:name{.+}/manifests/:reference`): its handler counts every byte it holds against a byte budget
 * before reading it (origin/routes/manifests.ts), and a queue ahead of it would escape the count,
 * up to 1 MiB per waiting request. A wrong guess costs only speed, never correctness.
 */
function readAheadFor(request: Request): number {
  return request.method === 'PUT' && /^\/v2\/.+\/manifests\/[^/]+$/.test(new URL(request.url).pathname) ? 0 : QUEUE_BYTES
}

/**
 * `request` with its body replaced by the zero-copy stream of `incoming`, when it has a body that
 * nobody has read yet; otherwise `request` unchanged.
 */
export function withIncomingBody(request: Request, incoming: unknown): Request {
  if (request.method === 'GET' || request.method === 'HEAD' || !isUnreadIncoming(incoming)) return request
  const length = incoming.headers['content-length']
  if (length === '0' || (length === undefined && incoming.headers['transfer-encoding'] === undefined)) return request
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: incomingBody(incoming, readAheadFor(request)),
    signal: request.signal,
    duplex: 'half',
  } as RequestInit & { duplex: 'half' })
}
