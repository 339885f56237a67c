// What the pull routes read (ARCHITECTURE §6 `ReadModel`). The origin implements it over
// db/queries (origin/read-model.ts), each region index over its own store (edge/index/*). Async,
// so D1 and an HTTP-backed model fit; an implementation answers from memory when it can.

import type { Reference } from '../names.ts'

export interface ManifestRecord {
  digest: string
  mediaType: string
  size: number
  /** The exact bytes pushed. */
  payload: Uint8Array
}

export interface BlobRecord {
  digest: string
  size: number
}

export interface ReferrerRecord {
  digest: string
  mediaType: string
  size: number
  artifactType: string | null
  annotations: Record<string, string> | null
}

export interface PageRequest {
  /** At most this many names (the caller asks for one more to learn whether a next page exists). */
  n: number
  /** Exclusive start, in lexical order; null from the first. */
  last: string | null
}

export interface ReadModel {
  /** Whether the repository exists (was ever pushed to and not removed). */
  hasRepository(name: string): Promise<boolean>
  /** The manifest a tag or digest names in the repository, or null. */
  manifest(name: string, reference: Reference): Promise<ManifestRecord | null>
  /** The blob, only if it is linked into the repository (pushed or mounted there), or null. */
  blob(name: string, digest: string): Promise<BlobRecord | null>
  /** Ids of the locations whose placement of the blob is `present`, in no particular order. */
  placements(digest: string): Promise<string[]>
  /** Tag names of the repository in lexical order after `last`. */
  tags(name: string, page: PageRequest): Promise<string[]>
  /** Repository names in lexical order after `last`. */
  catalog(page: PageRequest): Promise<string[]>
  /** Manifests of the repository whose subject is `digest`. */
  referrers(name: string, digest: string): Promise<ReferrerRecord[]>
  /** Sequence number of the last change this model reflects (the change feed, §5). */
  position(): Promise<number>
}
