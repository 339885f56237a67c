// Sends an edge answer whose body is a location's Node response (edge/entry/node-fetch.ts) by
// piping one socket to the other, as a Node proxy would; every other answer goes the usual way.
// Status and headers are the app's, untouched.

import { ServerResponse } from 'node:http'
import { pipeline } from 'node:stream'
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
  // The client may have gone while the location was being asked: then only close the location's side.
  if (outgoing.destroyed) {
    incoming.destroy()
    return RESPONSE_ALREADY_SENT
  }
  outgoing.writeHead(response.status, headers)
  // A location that fails mid-body, or a client that goes away: pipeline destroys both sides (the
  // client resumes with Range), so no socket or file stays open at the location's end.
  pipeline(incoming, outgoing, () => {})
  return RESPONSE_ALREADY_SENT
}
