// How the azure driver cuts a put body into blocks (storage/drivers/azure.ts). Portable.

import { concatBytes } from '../../oci/bytes.ts'

const MiB = 1024 * 1024
/** Azure's limits: blocks per blob, bytes per block. */
export const MAX_BLOCKS = 50_000
export const MAX_BLOCK_SIZE = 4000 * MiB

/** Block ids must have one length per blob: 4 bytes of index and 32 of SHA-256, in base64. */
export async function blockId(index: number, block: Uint8Array<ArrayBuffer>): Promise<string> {
  const raw = new Uint8Array(36)
  new DataView(raw.buffer).setUint32(0, index)
  raw.set(new Uint8Array(await crypto.subtle.digest('SHA-256', block)), 4)
  return btoa(String.fromCharCode(...raw))
}

/**
 * Cuts a body into blocks of `size` bytes. Until the first block is full it only keeps the
 * chunks (so a small body costs its own size, not a block); after that it fills preallocated
 * blocks, so one block being read plus one in flight is all the memory a put holds.
 */
export class BlockCutter {
  private readonly size: number
  private chunks: Uint8Array[] = []
  private pending = 0
  private block: Uint8Array<ArrayBuffer> | null = null
  private filled = 0
  private cut = false

  constructor(size: number) {
    this.size = size
  }

  /** Full blocks completed by `chunk` (usually none or one). */
  push(chunk: Uint8Array): Uint8Array<ArrayBuffer>[] {
    const full: Uint8Array<ArrayBuffer>[] = []
    let offset = 0
    while (offset < chunk.byteLength) {
      if (!this.block) {
        if (!this.cut && this.pending + chunk.byteLength - offset < this.size) {
          this.chunks.push(offset === 0 ? chunk : chunk.subarray(offset))
          this.pending += chunk.byteLength - offset
          break
        }
        this.block = new Uint8Array(this.size)
        this.filled = 0
        for (const held of this.chunks) {
          this.block.set(held, this.filled)
          this.filled += held.byteLength
        }
        this.chunks = []
        this.pending = 0
      }
      const n = Math.min(this.size - this.filled, chunk.byteLength - offset)
      this.block.set(chunk.subarray(offset, offset + n), this.filled)
      this.filled += n
      offset += n
      if (this.filled === this.size) {
        full.push(this.block)
        this.block = null
        this.cut = true
      }
    }
    return full
  }

  /** The bytes after the last full block; possibly none. */
  rest(): Uint8Array<ArrayBuffer> {
    if (this.block) return this.block.subarray(0, this.filled)
    return concatBytes(this.chunks, this.pending)
  }
}
