// Server-side copies for the swift driver, within one account (one cluster, one storage URL): a
// plain object with one `PUT` + `X-Copy-From` (Swift's copy middleware), atomic like any PUT. A
// large object is copied segment by segment into this location's segment container and committed
// with a manifest of its own, so the copy shares no segment with its source and outlives its
// deletion (copying the manifest itself would share them). Portable.

import { commitManifest, deleteSegments, headObject, unquote } from './swift-upload.ts'
import type { Segment, SwiftStore } from './swift-upload.ts'

/** Copies `from` into `toObject` of this location; its size, or null when `from` is missing. */
export async function copyObject(store: SwiftStore, from: { container: string; object: string }, toObject: string): Promise<number | null> {
  const { client } = store
  const doing = `copy /${from.container}/${from.object} to ${toObject}`
  const source = await headObject(store, from.object, from.container)
  if (!source) return null
  if (source.segments === null) {
    const res = await client.request('PUT', client.path(store.container, toObject), doing, {
      headers: { 'X-Copy-From': client.path(from.container, from.object), 'Content-Length': '0' },
      // Swift copies up to 5 GiB before it answers.
      timeoutMs: 600_000,
    })
    await res.body?.cancel()
    if (res.status === 404) return null
    if (res.status !== 201) throw await client.fail(res, doing)
    return source.size
  }
  const upload = `${toObject}/${crypto.randomUUID()}/`
  const copied: Segment[] = []
  try {
    for (const segment of source.segments) {
      const name = upload + String(copied.length).padStart(8, '0')
      const res = await client.request('PUT', client.path(store.segmentContainer, name), doing, {
        headers: { 'X-Copy-From': segment.path.split('/').map(encodeURIComponent).join('/'), 'Content-Length': '0' },
        timeoutMs: 600_000,
      })
      await res.body?.cancel()
      // The source was replaced or deleted meanwhile: as if missing, the caller streams.
      if (res.status === 404) {
        await deleteSegments(store, copied.map((s) => s.path))
        return null
      }
      if (res.status !== 201) throw await client.fail(res, `${doing}: segment ${copied.length}`)
      copied.push({ path: `/${store.segmentContainer}/${name}`, etag: unquote(res.headers.get('etag')), size_bytes: segment.size_bytes })
    }
    await commitManifest(store, toObject, doing, copied)
    return copied.reduce((sum, s) => sum + s.size_bytes, 0)
  } catch (err) {
    await deleteSegments(store, copied.map((s) => s.path)).catch(() => {})
    throw err
  }
}
