// Checks one placement against the bytes: present, right size, right digest.

import type { StorageEngine } from '../../storage/engine.ts'
import { blobKey } from '../../storage/keys.ts'
import { verifyingStream, type HasherFactory } from '../../oci/digest.ts'
import { isOciError } from '../../oci/errors.ts'

export type VerifyResult = { ok: true; bytesRead: number } | { ok: false; problem: 'missing' | 'size' | 'digest' | 'unreadable'; bytesRead: number; detail?: string }

export async function verifyPlacement(engine: StorageEngine, digest: string, size: number, createHasher: HasherFactory): Promise<VerifyResult> {
  let got
  try {
    got = await engine.get(blobKey(digest))
  } catch (err) {
    return { ok: false, problem: 'unreadable', bytesRead: 0, detail: err instanceof Error ? err.message : String(err) }
  }
  if (!got) return { ok: false, problem: 'missing', bytesRead: 0 }
  if (got.size !== size) {
    await got.body.cancel()
    return { ok: false, problem: 'size', bytesRead: 0, detail: `expected ${size}, stored ${got.size}` }
  }
  return verifyBody(got.body, digest, size, createHasher)
}

/** Reads `body` to the end against its digest and size. */
export async function verifyBody(body: ReadableStream<Uint8Array>, digest: string, size: number, createHasher: HasherFactory): Promise<VerifyResult> {
  let read = 0
  try {
    const reader = body.pipeThrough(verifyingStream({ digest, size }, createHasher)).getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      read += value.byteLength
    }
    return { ok: true, bytesRead: read }
  } catch (err) {
    if (isOciError(err)) return { ok: false, problem: err.code === 'SIZE_INVALID' ? 'size' : 'digest', bytesRead: read }
    return { ok: false, problem: 'unreadable', bytesRead: read, detail: err instanceof Error ? err.message : String(err) }
  }
}
