// Upload parts in storage (storage/keys.ts: uploads/<id>/<index>): appending one, reading them
// back as one stream, deleting them.

import type { StorageEngine } from '../../storage/engine.ts'
import { uploadPartKey, uploadPrefix } from '../../storage/keys.ts'
import { ociError } from '../../oci/errors.ts'

/** Counts bytes and enforces an exact declared length (Content-Length / Content-Range). */
export function countingStream(declared: number | null, onChunk: (chunk: Uint8Array) => void): { stream: TransformStream<Uint8Array, Uint8Array>; count: () => number } {
  let seen = 0
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength
      if (declared !== null && seen > declared) throw ociError('SIZE_INVALID', { detail: { declared, received: `more than ${declared}` } })
      onChunk(chunk)
      controller.enqueue(chunk)
    },
    flush() {
      if (declared !== null && seen !== declared) throw ociError('SIZE_INVALID', { detail: { declared, received: seen } })
    },
  })
  return { stream, count: () => seen }
}

/** All parts of a session, in order, as one stream (never more than one chunk in memory). */
export function concatParts(engine: StorageEngine, id: string, nonces: string[]): ReadableStream<Uint8Array> {
  let index = 0
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (!reader) {
          if (index >= nonces.length) return controller.close()
          const got = await engine.get(uploadPartKey(id, index, nonces[index]))
          index++
          if (!got) throw ociError('BLOB_UPLOAD_INVALID', { message: 'an upload part is missing from storage', detail: { part: index - 1 } })
          reader = got.body.getReader()
        }
        const { done, value } = await reader.read()
        if (!done) return controller.enqueue(value)
        reader = null
      }
    },
    async cancel(reason) {
      await reader?.cancel(reason)
    },
  })
}

/** Best effort: leftovers are garbage the gc script collects (§4.1). */
export async function deleteParts(engine: StorageEngine, id: string, nonces: string[]): Promise<void> {
  await Promise.allSettled(nonces.map((nonce, i) => engine.delete(uploadPartKey(id, i, nonce))))
  const left = await engine.list(uploadPrefix(id)).catch(() => null)
  if (left) await Promise.allSettled(left.keys.map((k) => engine.delete(k.key)))
}
