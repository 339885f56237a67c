// mmdb-lib reads the database through Node's Buffer API (readUIntBE, toString('utf8', ...)): its
// Reader refuses anything that fails `Buffer.isBuffer`, and its metadata module calls `Buffer.from`
// when it loads. So it needs the Buffer global on every runtime. Node and Bun have it, Deno gives it
// to npm packages, Workers have it with the `nodejs_compat` flag. This file is the one place the
// portable geo code touches that global, to wrap the caller's Uint8Array without copying it.

interface BufferConstructorLike {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array
  isBuffer(value: unknown): boolean
}

export class MmdbUnsupportedError extends Error {
  constructor() {
    super('the MaxMind DB reader (mmdb-lib) needs the Buffer global: on Workers enable the nodejs_compat flag')
    this.name = 'MmdbUnsupportedError'
  }
}

/** The same bytes as a Buffer (a view, not a copy). Throws MmdbUnsupportedError without Buffer. */
export function asNodeBuffer(bytes: Uint8Array): Uint8Array {
  const NodeBuffer = (globalThis as { Buffer?: BufferConstructorLike }).Buffer
  if (!NodeBuffer) throw new MmdbUnsupportedError()
  return NodeBuffer.isBuffer(bytes) ? bytes : NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
