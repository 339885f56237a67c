// The Node edge's way to read a location over HTTP (signed-url locations: the origin that owns a
// disk) when it proxies: node:http instead of fetch, so the answer can be piped to the client as
// Node streams (edge/entry/node-send.ts) instead of crossing two Web stream hops: measured with
// curl as the client, 512 MiB proxied at 150-250 MiB/s through fetch and Web streams, 230-480 MiB/s
// piped (README "Benchmarks"; on 2 cores the edge's extra process is what costs).
// A fetch look-alike for GET and HEAD without a request body; the Response's body is a Web stream
// that reads from the socket only if someone pulls it (the portable code path), marked so the
// Node server can take the IncomingMessage instead.

import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'

const incomingOf = new WeakMap<ReadableStream<Uint8Array>, IncomingMessage>()

/** The Node response behind a body this fetch made, or null. */
export function incomingMessageOf(body: ReadableStream<Uint8Array>): IncomingMessage | null {
  return incomingOf.get(body) ?? null
}

export const nodeFetch: typeof fetch = (input, init = {}) => {
  const url = new URL(input instanceof Request ? input.url : String(input))
  const method = (init.method ?? 'GET').toUpperCase()
  if (init.body != null || (method !== 'GET' && method !== 'HEAD')) return fetch(input, init)
  const headers: Record<string, string> = {}
  new Headers(init.headers).forEach((value, name) => { headers[name] = value })
  return new Promise<Response>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(url, { method, headers, signal: init.signal ?? undefined }, (incoming) => {
      const responseHeaders = new Headers()
      for (let i = 0; i < incoming.rawHeaders.length; i += 2) responseHeaders.append(incoming.rawHeaders[i]!, incoming.rawHeaders[i + 1]!)
      const status = incoming.statusCode ?? 502
      if (method === 'HEAD' || status === 204 || status === 304) {
        incoming.resume()
        resolve(new Response(null, { status, headers: responseHeaders }))
        return
      }
      const body = webStreamOf(incoming)
      incomingOf.set(body, incoming)
      resolve(new Response(body, { status, headers: responseHeaders }))
    })
    req.once('error', reject)
    req.end()
  })
}

/** A Web stream over `incoming` that starts reading only when pulled. */
function webStreamOf(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      return new Promise<void>((resolve, reject) => {
        const chunk = incoming.read() as Buffer | null
        if (chunk !== null) {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          resolve()
          return
        }
        if (incoming.readableEnded) {
          controller.close()
          resolve()
          return
        }
        if (incoming.destroyed) {
          reject(new Error('the location closed the connection'))
          return
        }
        const cleanup = () => {
          incoming.off('readable', onReadable)
          incoming.off('end', onEnd)
          incoming.off('error', onError)
          incoming.off('close', onClose)
        }
        const onClose = () => {
          cleanup()
          if (incoming.readableEnded) controller.close()
          else {
            reject(new Error('the location closed the connection'))
            return
          }
          resolve()
        }
        const onReadable = () => {
          cleanup()
          const next = incoming.read() as Buffer | null
          if (next !== null) controller.enqueue(new Uint8Array(next.buffer, next.byteOffset, next.byteLength))
          else if (incoming.readableEnded) controller.close()
          resolve()
        }
        const onEnd = () => {
          cleanup()
          controller.close()
          resolve()
        }
        const onError = (err: Error) => {
          cleanup()
          reject(err)
        }
        incoming.once('readable', onReadable)
        incoming.once('end', onEnd)
        incoming.once('error', onError)
        incoming.once('close', onClose)
      })
    },
    cancel() {
      incoming.destroy()
    },
    // No read-ahead: a stream with a positive high-water mark pulls once at construction, and the
    // socket would no longer be free to pipe.
  }, { highWaterMark: 0 })
}
