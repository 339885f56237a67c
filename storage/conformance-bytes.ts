// The bytes the conformance suite (storage/conformance.ts) writes, and how it reads them back:
// patterned objects made on demand, so a 40 MiB put never sits in memory, and fast comparisons.
// Portable.

import { expect } from 'vitest'
import { createPortableHasher } from '../oci/hasher-portable.ts'
import { concatBytes } from '../oci/bytes.ts'

/** The byte at `position` of every patterned object: position-dependent, so a misplaced part shows. */
function patternByte(position: number): number {
  return Math.imul(position ^ (position >>> 15), 0x2c1b3c6d) >>> 24
}

export function patterned(start: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = patternByte(start + i)
  return out
}

/** `size` patterned bytes made on demand in `chunkSize` pieces; errors with `failWith` at `failAt`. */
export function patternStream(size: number, chunkSize: number, failAt = Infinity, failWith?: unknown): ReadableStream<Uint8Array> {
  let position = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (position >= failAt) return controller.error(failWith)
      if (position >= size) return controller.close()
      const length = Math.min(chunkSize, size - position)
      controller.enqueue(patterned(position, length))
      position += length
    },
  }, { highWaterMark: 0 })
}

export function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })
}

async function eachChunk(stream: ReadableStream<Uint8Array>, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const reader = stream.getReader()
  for (let r = await reader.read(); !r.done; r = await reader.read()) onChunk(r.value)
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let size = 0
  await eachChunk(stream, (chunk) => {
    chunks.push(chunk)
    size += chunk.byteLength
  })
  return concatBytes(chunks, size)
}

export async function sha256Of(stream: ReadableStream<Uint8Array>): Promise<{ hex: string; size: number }> {
  const hasher = createPortableHasher('sha256')
  let size = 0
  await eachChunk(stream, (chunk) => {
    hasher.update(chunk)
    size += chunk.byteLength
  })
  return { hex: hasher.hex(), size }
}

/** Byte equality that stays fast for megabytes (toEqual walks typed arrays element by element). */
export function expectBytes(actual: Uint8Array | null, expected: Uint8Array): void {
  expect(actual?.byteLength).toBe(expected.byteLength)
  const at = actual!.findIndex((byte, i) => byte !== expected[i])
  expect(at, 'index of the first differing byte').toBe(-1)
}
