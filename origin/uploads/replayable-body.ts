// A request body that a failed write can hand to the next location. A push's body is a one-shot
// stream, but a location that stopped taking writes fails early: a read-only or unpermitted disk
// at the temp file's open, before a byte is read; a full one at the first write, after the fs
// driver's first batch (storage/drivers/fs-write.ts, 1 MiB, one more batch read while it writes).
// Keeping the first few MiB read lets that push go to the next location instead of failing.
// Memory stays bounded: past `limit` bytes no further attempt is offered, and what was kept goes
// once the last attempt has replayed it.

/** Enough for the fs driver's two write batches plus the chunks in flight. */
export const REPLAY_LIMIT = 4 * 1024 * 1024

export interface ReplayableBody {
  /**
   * A stream for one write attempt: what earlier attempts read, then the rest of the source.
   * Null once more than the limit has been read (the bytes are gone: no further attempt).
   * Cancelling an attempt leaves the source open for the next one.
   */
  attempt(): ReadableStream<Uint8Array> | null
  /** Cancels the source: call when no attempt will follow a failed one. */
  abandon(reason: unknown): Promise<void>
}

export function replayableBody(source: ReadableStream<Uint8Array>, limit = REPLAY_LIMIT): ReplayableBody {
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null
  // Chunks read so far, while they fit the limit; `count` chunks read in all. The first chunk past
  // the limit is `latest`; `kept` stays until the newest attempt has replayed it (one chunk more
  // than the limit at most), so a read of a failed attempt that lands late takes nothing from it.
  let kept: Uint8Array[] = []
  let keptBytes = 0
  let overflow = false
  let latest: Uint8Array | null = null
  let count = 0
  let ended = false
  // Only the newest attempt may read on: a failed attempt whose pipe still pulls would take
  // chunks the newest one needs (it got 60 of 240 bytes and closed as if complete).
  let generation = 0
  // One read of the source at a time, shared: a failed attempt's pending read lands in `kept`.
  let fetching: Promise<void> | null = null
  const fetchNext = () => fetching ??= (async () => {
    try {
      reader ??= source.getReader()
      const { done, value } = await reader.read()
      if (done) { ended = true; return }
      count++
      if (!overflow && keptBytes + value.byteLength <= limit) {
        kept.push(value)
        keptBytes += value.byteLength
      } else {
        overflow = true
        latest = value
      }
    } finally {
      fetching = null
    }
  })()

  return {
    attempt() {
      if (overflow) return null
      const mine = ++generation
      let next = 0
      let cancelled = false
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          for (;;) {
            if (cancelled) return
            // Never close a stream short: a write would store a truncated part as complete.
            if (mine !== generation) return controller.error(new Error('a newer write attempt took over this request body'))
            if (next < kept.length) return controller.enqueue(kept[next++])
            if (next < count) {
              if (!overflow || next !== count - 1 || !latest) return controller.error(new Error(`request body chunk ${next} is no longer kept`))
              const chunk = latest
              latest = null
              kept = []
              next++
              return controller.enqueue(chunk)
            }
            if (ended) return controller.close()
            await fetchNext()
          }
        },
        cancel() {
          cancelled = true
        },
      }, { highWaterMark: 0 })
    },
    async abandon(reason) {
      await (reader ?? (source.locked ? null : source.getReader()))?.cancel(reason).catch(() => {})
    },
  }
}
