// Reading a small request body (a manifest) into memory with a hard limit, without ever holding
// more than the limit: the stream is cancelled as soon as it goes past.

import { ociError, type ErrorCode } from './errors.ts'
import { concatBytes } from './bytes.ts'

export interface ReadBoundedOptions {
  /** The error code for a body over the limit (answered with 413). */
  code?: ErrorCode
  /** Whole body within this long, or REQUEST_TIMEOUT (408): a caller holding a scarce slot while
   * it reads must not be held by a client trickling bytes. */
  timeoutMs?: number
  /** Sees each chunk as it arrives and may throw to refuse the body: the rest is then read and
   * dropped, not kept (up to the limit), and the error thrown once the body has ended. */
  inspect?: (chunk: Uint8Array) => void
  /** The length the request declared (Content-Length). Over the limit, the body is read and
   * dropped up to the limit, never kept, then refused with 413 as if it had been counted. */
  expectedBytes?: number | null
  /**
   * Accounts the memory the body will hold before it is read (a byte budget): awaited before each
   * read with what is kept so far plus the most that read may bring (`readAheadBytes`, no more
   * than `expectedBytes` allow), and after a larger chunk with the true total. Not called for
   * chunks that are dropped. A rejection refuses the body like `inspect`: what was kept is
   * dropped, the rest is read and dropped (so the client, still sending, reads the answer), and
   * the rejection is thrown once the body has ended.
   */
  hold?: (bytes: number) => Promise<void>
  /** What one read may bring, for `hold`: one socket read is at most 64 KiB. */
  readAheadBytes?: number
}

/**
 * A refused body within the limit is still read to its end, so the connection stays usable for
 * the client's next request: answering early and draining afterwards (@hono/node-server gives up
 * after 500 ms) closed kept-alive connections under a client's next request. Past the limit the
 * stream is cancelled and the 413 says `Connection: close`.
 */
export async function readBounded(body: ReadableStream<Uint8Array> | null, limit: number, options: ReadBoundedOptions = {}): Promise<Uint8Array> {
  const { code = 'MANIFEST_INVALID', timeoutMs, inspect, expectedBytes = null, hold, readAheadBytes = 64 * 1024 } = options
  if (!body) return new Uint8Array(0)
  const tooLarge = () => ociError(code, { status: 413, message: `body exceeds the limit of ${limit} bytes`, detail: { limit }, headers: { Connection: 'close' } })
  const chunks: Uint8Array[] = []
  let size = 0
  let refused: unknown = expectedBytes !== null && expectedBytes > limit ? tooLarge() : null
  const reader = body.getReader()
  let timedOut = false
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true
    reader.cancel().catch(() => undefined)
  }, timeoutMs)
  try {
    for (;;) {
      if (hold && refused === null) refused = await holdOrRefuse(hold, Math.min(size + readAheadBytes, expectedBytes ?? Infinity, limit))
      const { done, value } = await reader.read()
      if (timedOut) throw ociError('REQUEST_TIMEOUT', { message: `body not received within ${timeoutMs} ms`, detail: { timeoutMs }, headers: { Connection: 'close' } })
      if (done) break
      size += value.byteLength
      if (size > limit) {
        await reader.cancel().catch(() => undefined)
        throw tooLarge()
      }
      if (refused !== null) continue
      if (hold) refused = await holdOrRefuse(hold, size)
      if (refused !== null) {
        chunks.length = 0
        continue
      }
      chunks.push(value)
      try {
        inspect?.(value)
      } catch (err) {
        refused = err
        chunks.length = 0
      }
    }
  } finally {
    clearTimeout(timer)
  }
  if (refused !== null) throw refused
  return concatBytes(chunks, size)
}

/** Null once `bytes` are held, or why they cannot be. */
async function holdOrRefuse(hold: (bytes: number) => Promise<void>, bytes: number): Promise<unknown> {
  try {
    await hold(bytes)
    return null
  } catch (err) {
    return err
  }
}
