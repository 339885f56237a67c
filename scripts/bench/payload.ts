// The benchmark's blob bytes: pseudo-random, generated chunk by chunk, never held whole. A few
// MiB of random data are reused, each 4 KiB block stamped with (seed, chunk, block) so no block
// repeats (no store or filesystem can deduplicate or compress them away). Deterministic within
// one process, so the baseline pass and the push send the same bytes and the same digest.

import { randomBytes, createHash } from 'node:crypto'

export const MiB = 1024 * 1024

/** 1 MiB: what a client hands its socket per write; the server's reads are sized by TCP anyway. */
export const CHUNK_SIZE = MiB
const POOL_SIZE = 8 * MiB
const BLOCK = 4096

let pool: Buffer | null = null

function randomPool(): Buffer {
  pool ??= randomBytes(POOL_SIZE + CHUNK_SIZE)
  return pool
}

export interface PayloadSpec {
  /** Total bytes. */
  size: number
  /** Different seeds give different blobs (different digests) of the same size. */
  seed: number
}

/** The blob, one fresh CHUNK_SIZE buffer at a time (the last one may be shorter). */
export function* payloadChunks(spec: PayloadSpec): Generator<Buffer> {
  const source = randomPool()
  const blocksInPool = POOL_SIZE / BLOCK
  const count = Math.ceil(spec.size / CHUNK_SIZE)
  for (let i = 0; i < count; i++) {
    const length = Math.min(CHUNK_SIZE, spec.size - i * CHUNK_SIZE)
    // A different window of the pool per chunk; Knuth-style multipliers spread the windows.
    const start = ((i * 2_654_435_761 + spec.seed * 40_503) % blocksInPool) * BLOCK
    const chunk = Buffer.allocUnsafeSlow(length)
    source.copy(chunk, 0, start, start + length)
    for (let at = 0; at + 12 <= length; at += BLOCK) {
      chunk.writeUInt32LE(spec.seed >>> 0, at)
      chunk.writeUInt32LE(i, at + 4)
      chunk.writeUInt32LE(((at / BLOCK) ^ chunk.readUInt32LE(at + 8)) >>> 0, at + 8)
    }
    yield chunk
  }
}

/** Digest and time of generating + hashing only (no I/O): the client-side cost, for reference. */
export function digestPayload(spec: PayloadSpec): { digest: string; seconds: number } {
  const started = performance.now()
  const hash = createHash('sha256')
  for (const chunk of payloadChunks(spec)) hash.update(chunk)
  const digest = `sha256:${hash.digest('hex')}`
  return { digest, seconds: (performance.now() - started) / 1000 }
}

/** Time of generating only, so readers can subtract the client's share from any figure. */
export function generateOnlySeconds(spec: PayloadSpec): number {
  const started = performance.now()
  let n = 0
  for (const chunk of payloadChunks(spec)) n += chunk[0]
  return n < 0 ? 0 : (performance.now() - started) / 1000
}
