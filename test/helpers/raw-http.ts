// Raw TCP for the requests fetch cannot send: malformed request lines, oversized or dribbled
// headers, broken chunked encoding. Loopback only.

import { connect, type Socket } from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
  /** Everything received, as text (several responses on a keep-alive connection). */
  raw: string
  /** Milliseconds from connect to the server closing the connection (or to the deadline). */
  elapsedMs: number
  /** Whether the server closed the connection before the deadline. */
  closed: boolean
}

/** Connects to `url`'s host and port. Errors are swallowed: a reset is an outcome tests assert on. */
export function rawConnect(url: string): Socket {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''))
  socket.on('error', () => undefined)
  return socket
}

/** Sends `bytes`, half-closes unless told not to, and collects what comes back until close. */
export function rawRequest(url: string, bytes: string | Uint8Array, options: { end?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
  const { end = true, timeoutMs = 10_000 } = options
  const started = Date.now()
  const socket = rawConnect(url)
  socket.write(bytes)
  if (end) socket.end()
  return collect(socket, started, timeoutMs)
}

/** What `socket` receives until the server closes it, or until `timeoutMs`. */
export function collect(socket: Socket, started: number, timeoutMs: number): Promise<RawResponse> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  return new Promise((resolve) => {
    const done = (closed: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ ...parseResponse(Buffer.concat(chunks).toString('latin1')), elapsedMs: Date.now() - started, closed })
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.once('close', () => done(true))
  })
}

/** The first response in `raw`; status 0 when nothing (or no status line) came back. */
export function parseResponse(raw: string): Omit<RawResponse, 'elapsedMs' | 'closed'> {
  const split = raw.indexOf('\r\n\r\n')
  const head = split < 0 ? raw : raw.slice(0, split)
  const [statusLine = '', ...lines] = head.split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const rest = split < 0 ? '' : raw.slice(split + 4)
  const length = headers['content-length'] === undefined ? rest.length : Number(headers['content-length'])
  return { status, headers, body: rest.slice(0, length), raw }
}
