// The changes table's rows → the typed Change of oci/pull/feed.ts. Rows carry what was known when
// they were appended; what an edge needs beyond that (a manifest's bytes, the size of a blob
// linked before rows carried it) is read here, at serve time.

import type { Change } from '../../oci/pull/feed.ts'
import type { ChangeRow, FeedQueries } from '../../db/queries/feed.ts'

/** Payload bytes (base64 included) after which a page ends early: a page of 5000 large manifests stays bounded. */
export const PAGE_PAYLOAD_BUDGET = 4 * 1024 * 1024

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null)

function annotationsOf(text: string | null | undefined, fallback: unknown): Record<string, string> | null {
  if (text) return JSON.parse(text) as Record<string, string>
  return fallback && typeof fallback === 'object' ? fallback as Record<string, string> : null
}

/** One row as a Change; null for a kind this origin does not know (a newer origin wrote it). */
export async function typedChange(q: FeedQueries, row: ChangeRow): Promise<Change | null> {
  const d = JSON.parse(row.payload) as Record<string, unknown>
  const base = { seq: row.seq, at: row.at }
  const repository = row.repository ?? ''
  switch (row.kind) {
    case 'tag.set': return { ...base, kind: 'tag.set', repository, tag: str(d.tag), digest: str(d.digest) }
    case 'tag.deleted': return { ...base, kind: 'tag.deleted', repository, tag: str(d.tag) }
    case 'manifest.put': {
      const digest = str(d.digest)
      const stored = await q.manifestPayload(repository, digest)
      return {
        ...base, kind: 'manifest.put', repository, digest, mediaType: str(d.mediaType), size: Number(d.size),
        subject: strOrNull(d.subject),
        artifactType: stored ? stored.artifactType : strOrNull(d.artifactType),
        annotations: annotationsOf(stored?.annotations, d.annotations),
        payload: stored ? stored.payload.toString('base64') : null,
      }
    }
    case 'manifest.deleted': return { ...base, kind: 'manifest.deleted', repository, digest: str(d.digest) }
    case 'blob.linked': {
      const digest = str(d.digest)
      // Rows appended before they carried the size: the blobs table has it (blob rows are never
      // deleted while linked; 0 only if garbage collection took it, and an unlink then follows).
      const size = typeof d.size === 'number' ? d.size : await q.blobSize(digest) ?? 0
      return { ...base, kind: 'blob.linked', repository, digest, size }
    }
    case 'blob.unlinked': return { ...base, kind: 'blob.unlinked', repository, digest: str(d.digest) }
    case 'placement.present': return { ...base, kind: 'placement.present', digest: str(d.digest), location: str(d.location), size: Number(d.size) }
    case 'placement.removed': return { ...base, kind: 'placement.removed', digest: str(d.digest), location: str(d.location) }
    case 'location.health': return { ...base, kind: 'location.health', location: str(d.location), readable: d.readable === true }
    // Appended by setRepositoryPublic (db/queries/visibility.ts): the repository in its column,
    // `{public}` in the payload. Anything but a literal true reads as private (deny by default).
    case 'repository.visibility': return { ...base, kind: 'repository.visibility', repository: repository || str(d.repository), public: d.public === true }
    default: return null
  }
}

/**
 * Changes after `after`, at most `limit`, ending early once the page holds PAGE_PAYLOAD_BUDGET of
 * manifest bytes (never before its first change). `next` is the last seq read, so a skipped
 * unknown kind is still passed.
 */
export async function readChanges(q: FeedQueries, after: number, limit: number): Promise<{ changes: Change[]; next: number }> {
  const out: Change[] = []
  let next = after
  let bytes = 0
  for (const row of await q.changesAfter(after, limit)) {
    const change = await typedChange(q, row)
    next = row.seq
    if (change) out.push(change)
    if (change?.kind === 'manifest.put') bytes += change.payload?.length ?? 0
    if (bytes >= PAGE_PAYLOAD_BUDGET) break
  }
  return { changes: out, next }
}
