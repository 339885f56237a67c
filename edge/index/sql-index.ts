// A region index over any SqlStore (ARCHITECTURE §5 "Region index"): the ReadModel the edge's pull
// routes read, plus what the feed follower (follow.ts) writes through: apply a page of changes,
// load a snapshot, report status and lag. Written once for every runtime's SQLite and for D1.
//
// Reads are one statement each, with constant SQL so a store can keep them prepared.

import type { Reference } from '../../oci/names.ts'
import type { Change, SnapshotLine } from '../../oci/pull/feed.ts'
import type { BlobRecord, ManifestRecord, PageRequest, ReadModel, ReferrerRecord } from '../../oci/pull/read-model.ts'
import type { SqlStatement, SqlStore, SqlValue } from './sql-store.ts'
import { META, META_TABLE, SCHEMA_VERSION, createSchema, dropSchema } from './schema.ts'
import { REPOSITORY_SEEN, changeStatements, repositoryOf } from './statements.ts'
import { loadSnapshotInto, type LoadedSnapshot } from './snapshot.ts'

export interface IndexStatus {
  /** Seq of the last change applied (or the snapshot's position). */
  position: number
  /** The origin's newest seq as of the last feed page read. */
  head: number
  /** When the last feed page was applied (ms since the epoch), or null. */
  lastSyncAt: number | null
  /**
   * 0 when position >= head; otherwise the seconds since the `at` of the newest change applied
   * (or the snapshot's takenAt), which no pending change predates: an upper bound on how stale
   * the index is. Only as fresh as `lastSyncAt`: a follower that cannot reach the origin does not
   * learn the head moved.
   */
  lagSeconds: number
  /** A snapshot has been loaded since the index (or its schema) was created. */
  ready: boolean
  /** takenAt of that snapshot, or null. */
  snapshotAt: number | null
}

export interface LocationHealth {
  location: string
  /** The origin's view (a hint: the edge keeps its own). */
  readable: boolean
  at: number
}

export interface SyncInfo {
  /** FeedPage.head of the page being applied. */
  head: number
  /** FeedPage.next: the position after this page, past changes of kinds this edge does not know. */
  next?: number
  /** Now, ms since the epoch (tests pass their own). */
  now?: number
}

export interface SqlIndex extends ReadModel {
  /**
   * Applies a page of changes in seq order in one atomic batch, advancing the position in the same
   * batch. Changes with seq <= position are skipped, so replaying a page is harmless. With `sync`,
   * also records the head, the sync time and the lag in that batch. Returns the new position.
   */
  apply(changes: Change[], sync?: SyncInfo): Promise<number>
  /** Replaces the whole contents with a snapshot, atomically; throws SnapshotError (old contents
   * kept) when the snapshot is cut short or inconsistent. */
  loadSnapshot(lines: AsyncIterable<SnapshotLine>): Promise<LoadedSnapshot>
  status(now?: number): Promise<IndexStatus>
  locationHealth(): Promise<LocationHealth[]>
  /** Whether the origin last said this repository is readable anonymously (the feed's
   * repository.visibility, the snapshot's public lines); false for any name it never named. */
  isPublic(repository: string): Promise<boolean>
}

const SQL = {
  hasRepository: 'SELECT 1 AS found FROM repositories WHERE name = ?',
  manifestByTag:
    'SELECT m.digest AS digest, m.media_type AS mediaType, m.size AS size, m.payload AS payload FROM tags t ' +
    'JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest WHERE t.repository = ? AND t.name = ?',
  manifestByDigest: 'SELECT digest, media_type AS mediaType, size, payload FROM manifests WHERE repository = ? AND digest = ?',
  blob: 'SELECT digest, size FROM repository_blobs WHERE repository = ? AND digest = ?',
  placements: 'SELECT location FROM placements WHERE digest = ?',
  // '' sorts before every non-empty name, so the first page needs no second statement.
  tags: 'SELECT name FROM tags WHERE repository = ? AND name > ? ORDER BY name LIMIT ?',
  catalog: 'SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?',
  referrers:
    'SELECT digest, media_type AS mediaType, size, artifact_type AS artifactType, annotations FROM manifests ' +
    'WHERE repository = ? AND subject = ? ORDER BY digest',
  position: `SELECT value FROM meta WHERE key = '${META.position}'`,
  meta: 'SELECT key, value FROM meta',
  health: 'SELECT location, readable, at FROM location_health ORDER BY location',
  isPublic: 'SELECT 1 AS found FROM public_repositories WHERE repository = ?',
  setMeta: 'INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)',
  advance: `UPDATE meta SET value = max(value, ?) WHERE key = '${META.position}'`,
} as const

export interface SqlIndexOptions {
  /** Statements per staging batch while loading a snapshot. */
  snapshotBatch?: number
  /** Manifests larger than this are not kept (the edge asks the origin): D1 caps a row at 2 MB. */
  maxManifestBytes?: number
  now?: () => number
}

/** Opens the index in `store`, creating it, or recreating it empty when its schema version differs. */
export async function createSqlIndex(store: SqlStore, options: SqlIndexOptions = {}): Promise<SqlIndex> {
  const { snapshotBatch, maxManifestBytes, now = Date.now } = options
  await ensureSchema(store)

  async function position(): Promise<number> {
    const rows = await store.all<{ value: number }>(SQL.position)
    return Number(rows[0]?.value ?? 0)
  }

  return {
    async hasRepository(name) {
      return (await store.all(SQL.hasRepository, [name])).length > 0
    },

    async manifest(name: string, reference: Reference): Promise<ManifestRecord | null> {
      const rows = reference.kind === 'tag'
        ? await store.all<ManifestRecord>(SQL.manifestByTag, [name, reference.tag])
        : await store.all<ManifestRecord>(SQL.manifestByDigest, [name, reference.digest])
      return rows[0] ?? null
    },

    async blob(name, digest): Promise<BlobRecord | null> {
      return (await store.all<BlobRecord>(SQL.blob, [name, digest]))[0] ?? null
    },

    async placements(digest) {
      return (await store.all<{ location: string }>(SQL.placements, [digest])).map((r) => r.location)
    },

    async tags(name, page: PageRequest) {
      return (await store.all<{ name: string }>(SQL.tags, [name, page.last ?? '', page.n])).map((r) => r.name)
    },

    async catalog(page: PageRequest) {
      return (await store.all<{ name: string }>(SQL.catalog, [page.last ?? '', page.n])).map((r) => r.name)
    },

    async referrers(name, digest): Promise<ReferrerRecord[]> {
      const rows = await store.all<Omit<ReferrerRecord, 'annotations'> & { annotations: string | null }>(SQL.referrers, [name, digest])
      return rows.map((r) => ({ ...r, annotations: r.annotations === null ? null : JSON.parse(r.annotations) as Record<string, string> }))
    },

    position,

    async apply(changes, sync) {
      const from = await position()
      let to = from
      let newestAt: number | null = null
      const repositories = new Set<string>()
      const data: SqlStatement[] = []
      for (const change of changes) {
        // Skips what is already applied, and anything out of order (a feed is strictly increasing).
        if (change.seq <= to) continue
        data.push(...changeStatements(change, maxManifestBytes))
        const repository = repositoryOf(change)
        if (repository !== null) repositories.add(repository)
        to = change.seq
        newestAt = change.at
      }
      const statements: SqlStatement[] = [...[...repositories].map((r) => ({ sql: REPOSITORY_SEEN, params: [r] })), ...data]
      if (sync?.next !== undefined && sync.next > to && sync.next <= sync.head) to = sync.next
      if (to > from) statements.push({ sql: SQL.advance, params: [to] })
      if (sync) statements.push(...syncStatements(sync, to, newestAt))
      if (statements.length > 0) await store.batch(statements)
      return to
    },

    loadSnapshot(lines) {
      return loadSnapshotInto(store, lines, { batchSize: snapshotBatch, maxManifestBytes })
    },

    async status(at = now()) {
      const meta = new Map((await store.all<{ key: string; value: SqlValue }>(SQL.meta)).map((r) => [r.key, r.value]))
      const num = (key: string): number | null => (meta.get(key) == null ? null : Number(meta.get(key)))
      const position = num(META.position) ?? 0
      const head = Math.max(num(META.head) ?? 0, position)
      const behindSince = num(META.behindSince)
      const behind = position < head && behindSince !== null
      return {
        position, head,
        lastSyncAt: num(META.syncedAt),
        lagSeconds: behind ? Math.max(0, at - behindSince) / 1000 : 0,
        ready: num(META.snapshotAt) !== null,
        snapshotAt: num(META.snapshotAt),
      }
    },

    async locationHealth() {
      const rows = await store.all<{ location: string; readable: number; at: number }>(SQL.health)
      return rows.map((r) => ({ location: r.location, readable: Number(r.readable) === 1, at: Number(r.at) }))
    },

    async isPublic(repository) {
      return (await store.all(SQL.isPublic, [repository])).length > 0
    },
  }

  function syncStatements(sync: SyncInfo, to: number, newestAt: number | null): SqlStatement[] {
    const statements: SqlStatement[] = [
      { sql: SQL.setMeta, params: [META.head, sync.head] },
      { sql: SQL.setMeta, params: [META.syncedAt, sync.now ?? now()] },
    ]
    // Caught up: no lag. Behind: the newest change applied bounds the age of what is pending; with
    // nothing applied this round the bound already stored still holds.
    if (to >= sync.head) statements.push({ sql: SQL.setMeta, params: [META.behindSince, null] })
    else if (newestAt !== null) statements.push({ sql: SQL.setMeta, params: [META.behindSince, newestAt] })
    return statements
  }
}

async function ensureSchema(store: SqlStore): Promise<void> {
  let version: number | null = null
  try {
    await store.batch([{ sql: META_TABLE }])
    const rows = await store.all<{ value: SqlValue }>(`SELECT value FROM meta WHERE key = '${META.schemaVersion}'`)
    version = rows.length > 0 ? Number(rows[0]!.value) : null
  } catch {
    // A meta table of some other shape: rebuilt below like any other version mismatch.
  }
  if (version === SCHEMA_VERSION) return
  await store.batch([...dropSchema(), ...createSchema()].map((sql) => ({ sql })))
}
