// The request's own body, with its failures told apart from everything else a push can hit. A
// body that breaks off (the client went away, the idle timeout cut it, a malformed chunked
// encoding) is the client's fault: 400, and the location that was being written stays healthy.
// Anything else failing mid-push (the database busy or full on the session row, a bug) is the
// server's: it must reach the 500/503 handling, not be answered as a client error that docker
// would not retry.

import { relayBody } from '../../storage/relay-body.ts'

/** A failure while reading the request body: the client's doing. */
export class ClientBodyError extends Error {
  constructor(options: { cause: unknown }) {
    super('the request body ended before it was complete', options)
    this.name = 'ClientBodyError'
  }
}

export function isClientBodyError(err: unknown): err is ClientBodyError {
  return err instanceof ClientBodyError
}

/** `body` as it is, except that a failed read throws ClientBodyError (the original as its cause). */
export function clientBody(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return relayBody(body, (cause) => new ClientBodyError({ cause })).stream
}
