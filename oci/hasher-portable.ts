// Pure-JS hashers for runtimes without node:crypto (Workers, Deno, Bun all work). The origin
// injects the native one instead (origin/hasher.ts).

import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import type { Hasher, HasherFactory } from './digest.ts'

type NobleHash = ReturnType<typeof sha256.create> | ReturnType<typeof sha512.create>

function wrap(h: NobleHash): Hasher {
  return {
    update: (chunk) => void h.update(chunk),
    hex: () => bytesToHex(h.digest()),
    clone: () => wrap(h.clone()),
  }
}

export const createPortableHasher: HasherFactory = (algorithm) => wrap(algorithm === 'sha256' ? sha256.create() : sha512.create())
