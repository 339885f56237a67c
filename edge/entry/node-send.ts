// Sends an edge answer whose body is a location's Node response (edge/entry/node-fetch.ts) by
// piping one socket to the other, as a Node proxy would; every other answer goes the usual way.
// Status and headers are the app's, untouched.

import { ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { incomingMessageOf } from './node-fetch.ts'

export function sendPiped(response: Response, outgoing: unknown): Response {
  if (!(outgoing instanceof ServerResponse) || outgoing.headersSent || response.body === null) return response
  if (response.headers.get('content-type') !== 'application/octet-stream') return response
  const incoming = incomingMessageOf(response.body)
  // Only a body no one has started reading: the Web stream, once pulled, owns the socket.
  if (!incoming || incoming.readableDidRead) return response
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => { headers[name] = value })
  outgoing.writeHead(response.status, headers)
  incoming.pipe(outgoing)
  // A location that fails mid-body, or a client that went away: cut the other side too (the
  // client resumes with Range).
  incoming.once('error', () => outgoing.destroy())
  incoming.once('aborted', () => outgoing.destroy())
  outgoing.once('close', () => { if (!incoming.readableEnded) incoming.destroy() })
  return RESPONSE_ALREADY_SENT
}
