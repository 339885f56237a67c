// Clients placed somewhere on Earth, for the loopback geo scenario. A client is placed either by a
// trusted CDN's location headers (the request comes from 127.0.0.1, an edge's trusted proxy) or
// by its address (the request comes FROM 127.0.0.2-4, which the test IP database places; on
// Linux all of 127.0.0.0/8 is loopback). skopeo can neither add headers nor pick its source
// address, so it pulls through a tiny forwarder that does either, playing the CDN (or the
// client's own network); the forwarder records where the edge says each blob was served from.

import { request as httpRequest, createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ClientPlacement {
  /** Source address of the connections to the edge (default 127.0.0.1, the trusted proxy). */
  localAddress?: string
  /** Headers added to every request (e.g. CloudFront-Viewer-Latitude/Longitude). */
  headers?: Record<string, string>
}

export interface Served {
  method: string
  path: string
  status: number
  servedFrom: string | null
  geoSource: string | null
}

export interface ClientForwarder {
  /** What skopeo talks to: plain HTTP on 127.0.0.1. */
  url: string
  /** Every blob request the edge answered, in order. */
  blobs: Served[]
  close(): Promise<void>
}

/** A forwarder to `edgeUrl` for one placed client. */
export async function startClientForwarder(edgeUrl: string, placement: ClientPlacement): Promise<ClientForwarder> {
  const blobs: Served[] = []
  const server: Server = createServer((req, res) => {
    const upstream = requestFrom(placement, `${edgeUrl}${req.url}`, { method: req.method!, headers: { ...req.headers, host: new URL(edgeUrl).host } }, (up) => {
      if (/\/blobs\/sha256:/.test(req.url ?? '')) {
        blobs.push({ method: req.method!, path: req.url!, status: up.statusCode!, servedFrom: header(up.headers, 'meridian-served-from'), geoSource: header(up.headers, 'meridian-geo-source') })
      }
      res.writeHead(up.statusCode!, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    blobs,
    close: () => new Promise((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

export interface PlacedResponse {
  status: number
  headers: IncomingHttpHeaders
  body: IncomingMessage
}

/** One HTTP request as the placed client makes it (redirects not followed). */
export function fetchAs(placement: ClientPlacement, url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<PlacedResponse> {
  return new Promise((resolve, reject) => {
    const req = requestFrom(placement, url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => resolve({ status: res.statusCode!, headers: res.headers, body: res }))
    req.on('error', reject)
    req.end()
  })
}

/** Reads a whole response body. */
export async function readAll(body: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return new Uint8Array(Buffer.concat(chunks))
}

function requestFrom(placement: ClientPlacement, url: string, init: { method: string; headers: IncomingHttpHeaders | Record<string, string> }, onResponse: (res: IncomingMessage) => void) {
  const headers: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(init.headers)) if (v !== undefined && k !== 'connection') headers[k] = v
  // Each client says where it is itself: headers it was sent are replaced, not appended to.
  for (const [k, v] of Object.entries(placement.headers ?? {})) headers[k.toLowerCase()] = v
  // A fresh connection per request: the source address must be the client's own every time.
  return httpRequest(url, { method: init.method, headers, localAddress: placement.localAddress ?? '127.0.0.1', agent: false }, onResponse)
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name]
  return typeof v === 'string' ? v : null
}
