// An SDK download body (a Node stream from the GCS or Azure SDK: async-iterable, and retried by
// the SDK while it can) as the web stream every engine's get returns. Portable: it only iterates.

import { StorageError } from './engine.ts'
import { toStorageError } from './errors.ts'

export interface DownloadStreamOptions {
  location: string
  key: string
  /** The get's signal: checked before every pull, since the SDK stream does not watch it. */
  signal?: AbortSignal
  /** Reshapes an SDK error before it becomes a StorageError (e.g. to expose its HTTP status). */
  normalizeError?: (err: unknown) => unknown
}

/**
 * Pulls `source` one chunk per read (no read-ahead) and hands each chunk on as a plain
 * Uint8Array view. A source error, which means the connection broke and the SDK's retries ran
 * out, becomes a StorageError; cancelling the web stream ends the source.
 */
export function downloadStream(source: AsyncIterable<Uint8Array>, { location, key, signal, normalizeError = (err) => err }: DownloadStreamOptions): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (signal?.aborted) {
        await iterator.return?.()
        throw new StorageError('aborted', location, `get ${key} aborted`, { cause: signal.reason })
      }
      let r: IteratorResult<Uint8Array>
      try {
        r = await iterator.next()
      } catch (err) {
        throw toStorageError(normalizeError(err), location, `get ${key}`)
      }
      if (r.done) return controller.close()
      controller.enqueue(new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength))
    },
    cancel: async () => void (await iterator.return?.()),
  }, { highWaterMark: 0 })
}
