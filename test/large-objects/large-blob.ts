// A multi-GiB blob made on the fly for the large-object tests: 1 MiB chunks of one random block,
// each stamped with its index in its first 8 bytes (so a chunk in the wrong place changes the
// digest), never held whole and never written to disk by the test. Also the process RSS sampler
// those tests assert on.

import { createHash } from 'node:crypto'

const CHUNK = 1024 * 1024

export interface LargeBlob {
  size: number
  /** The blob as a stream of fresh 1 MiB chunks (drivers may keep a chunk they were given). */
  stream(): ReadableStream<Uint8Array>
  /** `length` bytes from `start`. */
  bytesAt(start: number, length: number): Uint8Array
  /** `sha256:<hex>`, computed by generating the bytes once more. */
  digest(): string
}

export function largeBlob(size: number): LargeBlob {
  const block = new Uint8Array(CHUNK)
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < CHUNK; at += 65_536) crypto.getRandomValues(block.subarray(at, at + 65_536))
  const chunk = (index: number): Uint8Array => {
    const out = block.slice(0, Math.min(CHUNK, size - index * CHUNK))
    if (out.byteLength >= 8) new DataView(out.buffer).setFloat64(0, index)
    return out
  }
  const count = Math.ceil(size / CHUNK)
  return {
    size,
    stream() {
      let index = 0
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (index >= count) return controller.close()
          controller.enqueue(chunk(index++))
        },
      }, { highWaterMark: 0 })
    },
    bytesAt(start, length) {
      const out = new Uint8Array(length)
      for (let at = 0; at < length;) {
        const index = Math.floor((start + at) / CHUNK)
        const offset = (start + at) % CHUNK
        const piece = chunk(index).subarray(offset, offset + length - at)
        out.set(piece, at)
        at += piece.byteLength
      }
      return out
    },
    digest() {
      const hash = createHash('sha256')
      for (let index = 0; index < count; index++) hash.update(chunk(index))
      return `sha256:${hash.digest('hex')}`
    },
  }
}

/** Reads a stream to its digest with Node's SHA-256, holding one chunk at a time. */
export async function digestOf(stream: ReadableStream<Uint8Array>): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  const reader = stream.getReader()
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    hash.update(r.value)
    size += r.value.byteLength
  }
  return { digest: `sha256:${hash.digest('hex')}`, size }
}

export interface RssSample {
  /** RSS when sampling started, bytes. */
  start: number
  /** The highest RSS seen, bytes. */
  peak: number
}

/** Runs `work` while sampling this process's RSS every 50 ms. */
export async function sampleRss<T>(work: () => Promise<T>): Promise<{ result: T; rss: RssSample }> {
  const start = process.memoryUsage.rss()
  let peak = start
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss())
  }, 50)
  try {
    const result = await work()
    peak = Math.max(peak, process.memoryUsage.rss())
    return { result, rss: { start, peak } }
  } finally {
    clearInterval(timer)
  }
}
