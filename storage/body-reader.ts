// How drivers read a put body (ARCHITECTURE §3, body discipline): the declared size and the
// abort signal enforced in one place, and the body's own failure told apart from the driver's.
// Portable.

import { StorageError } from './engine.ts'
import { toStorageError } from './errors.ts'

export interface BodyReaderOptions {
  location: string
  key: string
  /** The declared size: more or fewer bytes fail with StorageError('invalid'). */
  size?: number
  signal?: AbortSignal
  /** Literal secrets to scrub from the messages of driver errors (see toStorageError). */
  secrets?: readonly string[]
}

/**
 * Reads a put body for a driver. It enforces the declared size and the abort signal, and it knows
 * whether a failure came from the body itself: `failure(err)` returns the body's own error when it
 * did (the engine contract: rethrown as it is, so a verifying transform's OciError reaches the
 * handler as DIGEST_INVALID) and a StorageError otherwise.
 */
export class BodyReader {
  /** Bytes read so far. */
  bytes = 0
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private readonly options: BodyReaderOptions
  private bodyError: { reason: unknown } | null = null
  private done = false
  private readonly onAbort: () => void

  constructor(body: ReadableStream<Uint8Array>, options: BodyReaderOptions) {
    this.reader = body.getReader()
    this.options = options
    // Cancelling makes a pending read() return, so an abort does not wait for a stalled client.
    this.onAbort = () => void this.reader.cancel(options.signal?.reason).catch(() => {})
    options.signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /** The next chunk, or null at the end of the body. */
  async next(): Promise<Uint8Array | null> {
    const { location, key, size } = this.options
    this.throwIfAborted()
    let result: ReadableStreamReadResult<Uint8Array>
    try {
      result = await this.reader.read()
    } catch (reason) {
      this.bodyError = { reason }
      this.finish()
      throw reason
    }
    this.throwIfAborted()
    if (result.done) {
      this.finish()
      if (size !== undefined && this.bytes !== size) {
        throw new StorageError('invalid', location, `body of ${key} has ${this.bytes} bytes, ${size} declared`)
      }
      return null
    }
    this.bytes += result.value.byteLength
    if (size !== undefined && this.bytes > size) {
      throw new StorageError('invalid', location, `body of ${key} is longer than the ${size} bytes declared`)
    }
    return result.value
  }

  /** The error to throw for `err`, after cancelling the body if it is still open. */
  failure(err: unknown): unknown {
    if (this.bodyError) return this.bodyError.reason
    if (!this.done) {
      this.finish()
      this.reader.cancel(err).catch(() => {})
    }
    return toStorageError(err, this.options.location, `put ${this.options.key}`, this.options.secrets)
  }

  private throwIfAborted(): void {
    if (this.options.signal?.aborted) {
      throw new StorageError('aborted', this.options.location, `put ${this.options.key} aborted`, { cause: this.options.signal.reason })
    }
  }

  private finish(): void {
    this.done = true
    this.options.signal?.removeEventListener('abort', this.onAbort)
  }
}
