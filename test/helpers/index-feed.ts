// Synthetic feed changes and snapshot lines for the index and follower tests (the origin's feed is
// built elsewhere; these follow the wire types in oci/pull/feed.ts).

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Change, SnapshotLine } from '../../oci/pull/feed.ts'
import { openNodeStore } from '../../edge/entry/node-store.ts'
import type { SqlStore } from '../../edge/index/sql-store.ts'

type Body<K extends Change['kind']> = Omit<Extract<Change, { kind: K }>, 'seq' | 'at' | 'kind'>

/** Builds changes with increasing seq from `start`, `at` = BASE_AT + seq seconds. */
export const BASE_AT = Date.UTC(2026, 0, 1)
export function changeLog(start = 1) {
  let seq = start - 1
  const make = <K extends Change['kind']>(kind: K) => (body: Body<K>): Change => {
    seq++
    return { seq, at: BASE_AT + seq * 1000, kind, ...body } as unknown as Change
  }
  return {
    tagSet: make('tag.set'),
    tagDeleted: make('tag.deleted'),
    manifestPut: make('manifest.put'),
    manifestDeleted: make('manifest.deleted'),
    blobLinked: make('blob.linked'),
    blobUnlinked: make('blob.unlinked'),
    placementPresent: make('placement.present'),
    placementRemoved: make('placement.removed'),
    locationHealth: make('location.health'),
    repositoryVisibility: make('repository.visibility'),
  }
}

export function base64(text: string): string {
  return btoa(text)
}

export function manifestBody(repository: string, digest: string, text: string, extra: Partial<Body<'manifest.put'>> = {}): Body<'manifest.put'> {
  return {
    repository, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: text.length,
    subject: null, artifactType: null, annotations: null, payload: base64(text), ...extra,
  }
}

export async function* linesOf(lines: SnapshotLine[]): AsyncIterable<SnapshotLine> {
  for (const line of lines) yield line
}

/** A better-sqlite3 store on a file in a fresh temp dir; `reopen` closes and opens the same file. */
export function tempStore() {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-index-'))
  const path = join(dir, 'index.sqlite')
  let store: SqlStore = openNodeStore(path)
  return {
    path,
    get store() { return store },
    async reopen() {
      await store.close?.()
      store = openNodeStore(path)
      return store
    },
    async cleanup() {
      await store.close?.()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
