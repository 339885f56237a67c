// Joining held chunks into one buffer: a small body sent in one request, the tail of a block, a
// whole object in the memory driver or in a test. Portable.

/** The chunks one after another in a fresh buffer; `size` is their total length when known. */
export function concatBytes(chunks: readonly Uint8Array[], size = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0)): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}
