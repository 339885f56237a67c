// Reading a small request body (a manifest) into memory with a hard limit, without ever holding
// more than the limit: the stream is cancelled as soon as it goes past.

import { ociError, type ErrorCode } from './errors.ts'
import { concatBytes } from './bytes.ts'

export async function readBounded(body: ReadableStream<Uint8Array> | null, limit: number, code: ErrorCode = 'MANIFEST_INVALID'): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => undefined)
      throw ociError(code, { status: 413, message: `body exceeds the limit of ${limit} bytes`, detail: { limit } })
    }
    chunks.push(value)
  }
  return concatBytes(chunks, size)
}
