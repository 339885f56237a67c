// Node's native hashes (OpenSSL, SHA-NI where the CPU has it): ~14x faster than pure JS.

import { createHash, type Hash } from 'node:crypto'
import type { Hasher, HasherFactory } from '../oci/digest.ts'

function wrap(h: Hash): Hasher {
  return {
    update: (chunk) => void h.update(chunk),
    hex: () => h.digest('hex'),
    clone: () => wrap(h.copy()),
  }
}

export const createNativeHasher: HasherFactory = (algorithm) => wrap(createHash(algorithm))
