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
}

export async function readBounded(body: ReadableStream<Uint8Array> | null, limit: number, options: ReadBoundedOptions = {}): Promise<Uint8Array> {
  const { code = 'MANIFEST_INVALID', timeoutMs } = options
  if (!body) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = body.getReader()
  let timedOut = false
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true
    reader.cancel().catch(() => undefined)
  }, timeoutMs)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (timedOut) throw ociError('REQUEST_TIMEOUT', { message: `body not received within ${timeoutMs} ms`, detail: { timeoutMs } })
      if (done) break
      size += value.byteLength
      if (size > limit) {
        await reader.cancel().catch(() => undefined)
        throw ociError(code, { status: 413, message: `body exceeds the limit of ${limit} bytes`, detail: { limit } })
      }
      chunks.push(value)
    }
  } finally {
    clearTimeout(timer)
  }
  return concatBytes(chunks, size)
}
