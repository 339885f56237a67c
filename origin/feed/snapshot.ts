// The snapshot an edge bootstraps its region index from (oci/pull/feed.ts SnapshotLine): NDJSON,
// produced page by page as the client reads (a pull stream), so memory stays at one page however
// large the registry. The position is read before any table: every change after it is then in
// the feed, and re-applying one the snapshot already holds changes nothing.

import type { SnapshotLine } from '../../oci/pull/feed.ts'
import type { FeedQueries } from '../../db/queries/feed.ts'

/** Rows per query; manifests' bytes are read one at a time (a manifest may be 4 MiB). */
const PAGE = 500

type Key = [number, string]
type Record = Exclude<SnapshotLine, { type: 'header' } | { type: 'end' }>

/** Every record of one table, in key order, one page per yielded array. */
async function* keysetPages<R, K>(read: (after: K) => Promise<R[]>, first: K, keyOf: (row: R) => K): AsyncGenerator<R[]> {
  let after = first
  for (;;) {
    const rows = await read(after)
    if (rows.length > 0) yield rows
    if (rows.length < PAGE) return
    after = keyOf(rows[rows.length - 1]!)
  }
}

/** The records, a batch of small ones or one manifest per step. */
async function* records(q: FeedQueries): AsyncGenerator<Record[]> {
  for await (const rows of keysetPages((id) => q.repositoriesAfter(id, PAGE), 0, (r) => r.id)) {
    yield rows.map((r) => ({ type: 'repository', name: r.name }))
  }
  for await (const rows of keysetPages(([r, k]) => q.tagsAfter(r, k, PAGE), [0, ''] as Key, (t): Key => [t.repositoryId, t.name])) {
    yield rows.map((t) => ({ type: 'tag', repository: t.repository, tag: t.name, digest: t.digest }))
  }
  for await (const rows of keysetPages(([r, k]) => q.manifestsAfter(r, k, PAGE), [0, ''] as Key, (m): Key => [m.repositoryId, m.digest])) {
    for (const m of rows) {
      const bytes = await q.manifestBytes(m.repositoryId, m.digest)
      // Deleted since its page was read: a manifest.deleted after the position says so anyway.
      if (!bytes) continue
      yield [{
        type: 'manifest', repository: m.repository, digest: m.digest, mediaType: m.mediaType, size: m.size, subject: m.subject,
        artifactType: m.artifactType, annotations: m.annotations ? JSON.parse(m.annotations) as { [k: string]: string } : null,
        payload: bytes.toString('base64'),
      }]
    }
  }
  for await (const rows of keysetPages(([r, k]) => q.linkedBlobsAfter(r, k, PAGE), [0, ''] as Key, (b): Key => [b.repositoryId, b.digest])) {
    yield rows.map((b) => ({ type: 'blob', repository: b.repository, digest: b.digest, size: b.size }))
  }
  for await (const rows of keysetPages(([d, l]) => q.presentPlacementsAfter(d, l, PAGE), ['', ''] as [string, string], (p): [string, string] => [p.digest, p.location])) {
    yield rows.map((p) => ({ type: 'placement', digest: p.digest, location: p.location, size: p.size }))
  }
  for await (const rows of keysetPages((r) => q.publicRepositoriesAfter(r, PAGE), '', (p) => p.repository)) {
    yield rows.map((p) => ({ type: 'public', repository: p.repository }))
  }
}

const line = (l: SnapshotLine) => `${JSON.stringify(l)}\n`

export function snapshotStream(q: FeedQueries, now = Date.now): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let steps: AsyncGenerator<Record[]> | null = null
  let count = 0
  return new ReadableStream<Uint8Array>({
    // pull runs only when the consumer wants more: a slow edge holds the next page, not the table.
    async pull(controller) {
      if (!steps) {
        const position = await q.head()
        steps = records(q)
        controller.enqueue(encoder.encode(line({ type: 'header', position, takenAt: now() })))
        return
      }
      const step = await steps.next()
      if (step.done) {
        controller.enqueue(encoder.encode(line({ type: 'end', records: count })))
        controller.close()
        return
      }
      count += step.value.length
      controller.enqueue(encoder.encode(step.value.map(line).join('')))
    },
    async cancel() { await steps?.return(undefined) },
  }, { highWaterMark: 0 })
}
