// The swift driver's scratch space: segments of large-object uploads that never committed their
// manifest (the process died between segments; a failed upload deletes its own). Segments are
// named `<object>/<upload uuid>/<index>` (storage/drivers/swift-upload.ts), so an upload whose
// newest segment is older than the cut-off, and that the manifest of `<object>` does not name, is
// left over and goes. Swift stamps a segment when its PUT starts: a live upload's newest visible
// segment is as old as the time to write one segment and a half, which the cut-off must exceed.

import type { SweepResult } from '../engine.ts'
import { deleteSegments, headObject } from './swift-upload.ts'
import type { SwiftStore } from './swift-upload.ts'

const SEGMENT = /^(.*)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/\d{8}$/

interface Upload {
  object: string
  names: string[]
  bytes: number
  newest: number
}

export async function sweepSegments(store: SwiftStore, keyPrefix: string, olderThan: Date, dryRun: boolean): Promise<SweepResult> {
  const uploads = new Map<string, Upload>()
  for await (const row of listAll(store, store.segmentContainer, keyPrefix)) {
    const match = SEGMENT.exec(row.name)
    if (!match) continue
    const id = `${match[1]}/${match[2]}`
    const upload = uploads.get(id) ?? { object: match[1]!, names: [], bytes: 0, newest: 0 }
    upload.names.push(row.name)
    upload.bytes += row.bytes
    // Listing times are UTC without a zone.
    upload.newest = Math.max(upload.newest, Date.parse(`${row.last_modified}Z`) || Date.now())
    uploads.set(id, upload)
  }
  const swept: SweepResult = { items: 0, bytes: 0 }
  for (const [id, upload] of uploads) {
    if (upload.newest >= olderThan.getTime()) continue
    const live = (await headObject(store, upload.object))?.segments ?? []
    const prefix = `/${store.segmentContainer}/${id}/`
    if (live.some((segment) => segment.path.startsWith(prefix))) continue
    swept.items += upload.names.length
    swept.bytes += upload.bytes
    if (!dryRun) await deleteSegments(store, upload.names.map((name) => `/${store.segmentContainer}/${name}`))
  }
  return swept
}

async function* listAll(store: SwiftStore, container: string, prefix: string): AsyncGenerator<{ name: string; bytes: number; last_modified: string }> {
  const { client } = store
  let marker: string | undefined
  for (;;) {
    const res = await client.request('GET', client.path(container), `list ${container}`, { query: { format: 'json', prefix, marker, limit: '10000' } })
    // A segment container that was never created holds nothing.
    if (res.status === 404 || res.status === 204) return void (await res.body?.cancel())
    if (!res.ok) throw await client.fail(res, `list ${container}`)
    const rows = await res.json() as Array<{ name: string; bytes: number; last_modified: string }>
    if (rows.length === 0) return
    yield* rows
    marker = rows[rows.length - 1]!.name
  }
}
