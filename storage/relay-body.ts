// A body read through a stream of our own, lazily (no read-ahead), so that a failure of the body
// itself can be told apart from everything else: `onReadError` sees the body's failure and returns
// what is thrown in its place. Used by the guard (which remembers it) and the origin's request
// bodies (which turn it into the client's fault). Portable.

export interface RelayedBody {
  stream: ReadableStream<Uint8Array>
  /** Cancels the source body, whether or not reading it has begun (a no-op once it is locked elsewhere). */
  cancelSource(reason: unknown): Promise<void>
}

export function relayBody(body: ReadableStream<Uint8Array>, onReadError: (reason: unknown) => unknown): RelayedBody {
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= body.getReader()
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (reason) {
        throw onReadError(reason)
      }
      if (result.done) controller.close()
      else controller.enqueue(result.value)
    },
    cancel: (reason) => (reader ?? body.getReader()).cancel(reason),
  }, { highWaterMark: 0 })
  return {
    stream,
    async cancelSource(reason) {
      await (reader ?? (body.locked ? null : body.getReader()))?.cancel(reason).catch(() => {})
    },
  }
}
