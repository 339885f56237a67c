// What the origin's HTTP listener allows a client (README "Limits and hostile clients"): how long
// it may take to send a request head, how long a connection may stay silent, how many connections
// are held at once, and what a request Node's parser refuses gets back. Node-only, like server.ts.

import { STATUS_CODES, type Server, type ServerOptions } from 'node:http'
import { BlockList, type AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { errorBody, ociError, type OciError } from '../oci/errors.ts'
import { describeError, type Logger } from './log.ts'

export interface HttpLimits {
  /** Time from a connection's (or request's) first byte to the end of its headers. */
  headersTimeoutMs: number
  /** A connection silent this long is closed, mid-body included; a slow but moving upload is not. */
  idleTimeoutMs: number
  /** Connections held at once; more are closed on accept, with a rate-limited warning. */
  maxConnections: number
}

/** One warning per window at most, however many connections are dropped in it. */
const DROP_WARNING_INTERVAL_MS = 60_000

/**
 * node:http options. `requestTimeout: 0` (no whole-request limit: a layer upload on a slow link may
 * take an hour) would also make Node's headersTimeout 0 (it defaults to min(60 s, requestTimeout)),
 * so a client dribbling one header byte every few seconds held its socket forever. Node checks both
 * timeouts every connectionsCheckingInterval (30 s by default): scaled down so a short timeout is
 * enforced close to when it is due.
 */
export function httpServerOptions(limits: HttpLimits): ServerOptions {
  const interval = Math.min(5_000, Math.max(50, Math.floor(limits.headersTimeoutMs / 10)))
  return { requestTimeout: 0, headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: interval }
}

/** Applies the limits that are set on a created server rather than passed to createServer. */
export function applyHttpLimits(server: Server, limits: HttpLimits, log: Logger): void {
  // Resets on every byte either way: cuts clients gone without a FIN, never a slow moving transfer.
  server.setTimeout(limits.idleTimeoutMs)
  server.maxConnections = limits.maxConnections
  let dropped = 0
  let lastWarning = -Infinity
  // net.Server emits 'drop' (Node >= 18.6) for each connection closed because of maxConnections.
  server.on('drop', () => {
    dropped++
    const now = Date.now()
    if (now - lastWarning < DROP_WARNING_INTERVAL_MS) return
    log.warn('connection limit reached: new connections are being closed', { maxConnections: limits.maxConnections, dropped })
    lastWarning = now
    dropped = 0
  })
  server.on('clientError', answerClientError)
  // After listen, a server error (accept failing with EMFILE) is logged rather than fatal.
  server.on('error', (err) => log.error('http server error', { error: describeError(err) }))
}

/**
 * Node's parser refused the request (or its head took too long): answer with the spec's JSON error
 * where the connection still allows it. Registering this listener replaces Node's own handler,
 * which wrote an empty 400/431/408, so every path here must end by destroying the socket.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // An in-flight response already wrote its status line: another one would corrupt the stream.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (err.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    socket.write(rawErrorResponse(clientErrorOf(err.code)))
  }
  socket.destroy()
}

/** The OciError answering a parser error code (llhttp's HPE_*, Node's ERR_HTTP_*). */
export function clientErrorOf(code: string | undefined): OciError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return ociError('REQUEST_INVALID', { status: 431, message: 'request headers are too large' })
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return ociError('REQUEST_INVALID', { status: 413, message: 'chunk extensions are too large' })
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return ociError('REQUEST_TIMEOUT', { message: 'request headers not received in time' })
    default:
      return ociError('REQUEST_INVALID', { detail: code?.startsWith('HPE_') ? { parser: code } : null })
  }
}

/** A complete HTTP/1.1 response for a connection no request object exists for. */
export function rawErrorResponse(err: OciError): string {
  const body = errorBody(err)
  return [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Docker-Distribution-API-Version: registry/2.0',
    'Connection: close',
    '',
    body,
  ].join('\r\n')
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

/** 127.0.0.0/8, ::1, and IPv4-mapped ::ffff:127.x.y.z. Unspecified (0.0.0.0, ::) is not loopback. */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1')
  try {
    return LOOPBACK.check(bare, bare.includes(':') ? 'ipv6' : 'ipv4')
  } catch {
    return false
  }
}

/**
 * Whether every address the server listens on is loopback, judged from the socket actually bound
 * (server.address() after listen), never from the configured host name: a name that merely starts
 * with "127." may resolve to anything.
 */
export function listensOnLoopbackOnly(addresses: ReadonlyArray<AddressInfo | string | null>): boolean {
  return addresses.length > 0 && addresses.every((a) => a !== null && typeof a === 'object' && isLoopbackAddress(a.address))
}
