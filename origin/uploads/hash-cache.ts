// The running SHA-256 of upload sessions in this process, so finishing an upload need not read
// its bytes again. Only a cache: after a restart (or eviction) finalize re-hashes the parts.

import type { Hasher } from '../../oci/digest.ts'

export interface HashState {
  /** Bytes hashed so far; valid only while it equals the session's offset. */
  offset: number
  hasher: Hasher
}

export interface HashCache {
  get(id: string): HashState | null
  set(id: string, state: HashState): void
  delete(id: string): void
}

export function createHashCache(capacity = 1024): HashCache {
  const map = new Map<string, HashState>()
  return {
    get: (id) => map.get(id) ?? null,
    set(id, state) {
      map.delete(id)
      map.set(id, state)
      // Map iterates in insertion order: the first key is the least recently set.
      if (map.size > capacity) map.delete(map.keys().next().value!)
    },
    delete: (id) => void map.delete(id),
  }
}
