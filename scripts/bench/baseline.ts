// What the hardware does without a registry in the way: the same bytes written to a file in the
// data dir's filesystem while node:crypto hashes them (fsync at the end, like a durable store),
// and the stored blob read back with a plain file stream. The origin is measured against these.

import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { payloadChunks, type PayloadSpec } from './payload.ts'

export interface BaselineWrite {
  seconds: number
  digest: string
}

/**
 * Generates, hashes and writes the payload to `path`, then fsyncs. Each chunk is hashed while its
 * write is in flight on the libuv pool, the overlap any careful server gets for free.
 */
export async function baselineWrite(path: string, spec: PayloadSpec): Promise<BaselineWrite> {
  const started = performance.now()
  const hash = createHash('sha256')
  const file = await open(path, 'w')
  try {
    for (const chunk of payloadChunks(spec)) {
      const written = file.write(chunk)
      hash.update(chunk)
      await written
    }
    await file.sync()
  } finally {
    await file.close()
  }
  return { seconds: (performance.now() - started) / 1000, digest: `sha256:${hash.digest('hex')}` }
}

/** Reads the file and discards it; returns seconds and the byte count read. */
export async function baselineRead(path: string, highWaterMark = 1024 * 1024): Promise<{ seconds: number; bytes: number }> {
  const started = performance.now()
  let bytes = 0
  for await (const chunk of createReadStream(path, { highWaterMark })) bytes += (chunk as Buffer).byteLength
  return { seconds: (performance.now() - started) / 1000, bytes }
}
