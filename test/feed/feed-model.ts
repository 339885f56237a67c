// What a region index would hold, built two ways: by applying feed changes in order, and by
// loading snapshot lines. The tests compare the two against the origin's own state.

import type { Change, FeedPage, SnapshotLine } from '../../oci/pull/feed.ts'
import { FEED_PATH, SNAPSHOT_PATH } from '../../oci/pull/feed.ts'

export interface IndexModel {
  repositories: Set<string>
  tags: Map<string, string>
  manifests: Map<string, { mediaType: string; size: number; subject: string | null; artifactType: string | null; annotations: Record<string, string> | null; payload: string }>
  blobs: Map<string, number>
  placements: Map<string, number>
  /** Repositories readable anonymously. */
  public: Set<string>
}

export function emptyModel(): IndexModel {
  return { repositories: new Set(), tags: new Map(), manifests: new Map(), blobs: new Map(), placements: new Map(), public: new Set() }
}

export function applyChange(m: IndexModel, c: Change): void {
  // Visibility names a repository without showing it exists (it may be made public before a push).
  if ('repository' in c && c.kind !== 'repository.visibility') m.repositories.add(c.repository)
  switch (c.kind) {
    case 'tag.set': m.tags.set(`${c.repository}:${c.tag}`, c.digest); break
    case 'tag.deleted': m.tags.delete(`${c.repository}:${c.tag}`); break
    case 'manifest.put':
      if (c.payload !== null) m.manifests.set(`${c.repository}@${c.digest}`, { mediaType: c.mediaType, size: c.size, subject: c.subject, artifactType: c.artifactType, annotations: c.annotations, payload: c.payload })
      break
    case 'manifest.deleted': m.manifests.delete(`${c.repository}@${c.digest}`); break
    case 'blob.linked': m.blobs.set(`${c.repository}@${c.digest}`, c.size); break
    case 'blob.unlinked': m.blobs.delete(`${c.repository}@${c.digest}`); break
    case 'placement.present': m.placements.set(`${c.digest}@${c.location}`, c.size); break
    case 'placement.removed': m.placements.delete(`${c.digest}@${c.location}`); break
    case 'location.health': break
    case 'repository.visibility':
      if (c.public) m.public.add(c.repository)
      else m.public.delete(c.repository)
      break
  }
}

export function applyLine(m: IndexModel, l: SnapshotLine): void {
  switch (l.type) {
    case 'repository': m.repositories.add(l.name); break
    case 'tag': m.tags.set(`${l.repository}:${l.tag}`, l.digest); break
    case 'manifest': {
      const { type: _, repository, digest, ...rest } = l
      m.manifests.set(`${repository}@${digest}`, rest)
      break
    }
    case 'blob': m.blobs.set(`${l.repository}@${l.digest}`, l.size); break
    case 'placement': m.placements.set(`${l.digest}@${l.location}`, l.size); break
    case 'public': m.public.add(l.repository); break
    default: break
  }
}

export async function feedPage(url: string, query: string, headers: Record<string, string> = {}): Promise<FeedPage> {
  const res = await fetch(`${url}${FEED_PATH}?${query}`, { headers })
  if (res.status !== 200) throw new Error(`feed ${query}: ${res.status} ${await res.text()}`)
  return await res.json() as FeedPage
}

/** Every change after `after`, following `next` page by page. */
export async function allChanges(url: string, after = 0, limit = 500): Promise<Change[]> {
  const out: Change[] = []
  for (;;) {
    const page = await feedPage(url, `after=${after}&limit=${limit}`)
    out.push(...page.changes)
    if (page.next === after) return out
    after = page.next
  }
}

export async function snapshotLines(url: string, headers: Record<string, string> = {}): Promise<SnapshotLine[]> {
  const res = await fetch(`${url}${SNAPSHOT_PATH}`, { headers })
  if (res.status !== 200) throw new Error(`snapshot: ${res.status} ${await res.text()}`)
  const text = await res.text()
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as SnapshotLine)
}
