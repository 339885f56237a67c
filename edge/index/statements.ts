// The SQL each feed change and each snapshot record turns into. Every change sets state (an upsert
// or a delete, never an increment), so applying one twice, or over a snapshot that already holds
// it, leaves the same rows (oci/pull/feed.ts).

import type { Change, SnapshotLine } from '../../oci/pull/feed.ts'
import type { SqlStatement, SqlValue } from './sql-store.ts'
import { META, stagingName } from './schema.ts'

// Each data statement of a change runs only while the stored position is still below the change's
// seq. Two appliers racing over one database (overlapping Cron runs against D1) then cannot replay
// an old change over a newer state: the second batch to commit finds the position advanced and
// every one of its statements does nothing. SQLite serialises write transactions, so the check
// and the write are atomic.
const BEHIND = `(SELECT value FROM meta WHERE key = '${META.position}') < ?`

function guarded(sql: string, params: SqlValue[], seq: number): SqlStatement {
  return { sql, params: [...params, seq] }
}

const TAG_SET =
  `INSERT INTO tags (repository, name, digest) SELECT ?, ?, ? WHERE ${BEHIND} ` +
  'ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest'
const TAG_DELETED = `DELETE FROM tags WHERE repository = ? AND name = ? AND ${BEHIND}`
const MANIFEST_PUT =
  'INSERT INTO manifests (repository, digest, media_type, size, payload, subject, artifact_type, annotations) ' +
  `SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE ${BEHIND} ON CONFLICT (repository, digest) DO UPDATE SET ` +
  'media_type = excluded.media_type, size = excluded.size, payload = excluded.payload, subject = excluded.subject, ' +
  'artifact_type = excluded.artifact_type, annotations = excluded.annotations'
const MANIFEST_DELETED = `DELETE FROM manifests WHERE repository = ? AND digest = ? AND ${BEHIND}`
const BLOB_LINKED =
  `INSERT INTO repository_blobs (repository, digest, size) SELECT ?, ?, ? WHERE ${BEHIND} ` +
  'ON CONFLICT (repository, digest) DO UPDATE SET size = excluded.size'
const BLOB_UNLINKED = `DELETE FROM repository_blobs WHERE repository = ? AND digest = ? AND ${BEHIND}`
const PLACEMENT_PRESENT =
  `INSERT INTO placements (digest, location, size) SELECT ?, ?, ? WHERE ${BEHIND} ` +
  'ON CONFLICT (digest, location) DO UPDATE SET size = excluded.size'
const PLACEMENT_REMOVED = `DELETE FROM placements WHERE digest = ? AND location = ? AND ${BEHIND}`
const LOCATION_HEALTH =
  `INSERT INTO location_health (location, readable, at) SELECT ?, ?, ? WHERE ${BEHIND} ` +
  'ON CONFLICT (location) DO UPDATE SET readable = excluded.readable, at = excluded.at'
// Visibility is set, not toggled: `public: true` inserts the row (kept if there), false deletes it.
const MADE_PUBLIC = `INSERT INTO public_repositories (repository) SELECT ? WHERE ${BEHIND} ON CONFLICT (repository) DO NOTHING`
const MADE_PRIVATE = `DELETE FROM public_repositories WHERE repository = ? AND ${BEHIND}`

/** A repository, once seen, stays: the origin never removes one (db/queries/repositories.ts). */
export const REPOSITORY_SEEN = 'INSERT OR IGNORE INTO repositories (name) VALUES (?)'

/**
 * The statements of one change (without its repository row; see repositoryOf). A manifest larger
 * than `maxManifestBytes` is left out (D1 refuses rows over 2 MB): the index misses it and the
 * edge asks the origin, as for any miss.
 */
export function changeStatements(c: Change, maxManifestBytes = Infinity): SqlStatement[] {
  switch (c.kind) {
    case 'tag.set': return [guarded(TAG_SET, [c.repository, c.tag, c.digest], c.seq)]
    case 'tag.deleted': return [guarded(TAG_DELETED, [c.repository, c.tag], c.seq)]
    case 'manifest.put':
      // A null payload: deleted at the origin since; the manifest.deleted that follows settles it.
      if (c.payload === null || c.size > maxManifestBytes) return []
      return [guarded(MANIFEST_PUT, [c.repository, c.digest, c.mediaType, c.size, decodeBase64(c.payload), c.subject, c.artifactType, jsonOrNull(c.annotations)], c.seq)]
    case 'manifest.deleted': return [guarded(MANIFEST_DELETED, [c.repository, c.digest], c.seq)]
    case 'blob.linked': return [guarded(BLOB_LINKED, [c.repository, c.digest, c.size], c.seq)]
    case 'blob.unlinked': return [guarded(BLOB_UNLINKED, [c.repository, c.digest], c.seq)]
    case 'placement.present': return [guarded(PLACEMENT_PRESENT, [c.digest, c.location, c.size], c.seq)]
    case 'placement.removed': return [guarded(PLACEMENT_REMOVED, [c.digest, c.location], c.seq)]
    case 'location.health': return [guarded(LOCATION_HEALTH, [c.location, c.readable ? 1 : 0, c.at], c.seq)]
    case 'repository.visibility': return [guarded(c.public ? MADE_PUBLIC : MADE_PRIVATE, [c.repository], c.seq)]
    default: {
      // A newer origin may add kinds; an index that cannot apply one must not skip past it silently.
      const unknown: { kind: string } = c
      throw new Error(`cannot apply change kind ${unknown.kind}`)
    }
  }
}

/** The repository a change shows exists. Visibility does not: a name can be made public before
 * anything is pushed to it, and the catalog must not list it for that. */
export function repositoryOf(c: Change): string | null {
  if (c.kind === 'repository.visibility') return null
  return 'repository' in c ? c.repository : null
}

const STAGE_REPOSITORY = `INSERT OR IGNORE INTO ${stagingName('repositories')} (name) VALUES (?)`
const STAGE_TAG = `INSERT OR REPLACE INTO ${stagingName('tags')} (repository, name, digest) VALUES (?, ?, ?)`
const STAGE_MANIFEST =
  `INSERT OR REPLACE INTO ${stagingName('manifests')} (repository, digest, media_type, size, payload, subject, artifact_type, annotations) ` +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?)'
const STAGE_BLOB = `INSERT OR REPLACE INTO ${stagingName('repository_blobs')} (repository, digest, size) VALUES (?, ?, ?)`
const STAGE_PLACEMENT = `INSERT OR REPLACE INTO ${stagingName('placements')} (digest, location, size) VALUES (?, ?, ?)`
const STAGE_PUBLIC = `INSERT OR IGNORE INTO ${stagingName('public_repositories')} (repository) VALUES (?)`

export type SnapshotRecord = Exclude<SnapshotLine, { type: 'header' } | { type: 'end' }>

/**
 * The staging-table statements of one snapshot record (header and end are the loader's). The
 * record's repository row is added once per repository: `seen` remembers those already staged.
 */
export function snapshotStatements(line: SnapshotRecord, seen: Set<string>, maxManifestBytes = Infinity): SqlStatement[] {
  const out: SqlStatement[] = []
  const repository = line.type === 'repository' ? line.name : line.type === 'placement' || line.type === 'public' ? null : line.repository
  if (repository !== null && !seen.has(repository)) {
    seen.add(repository)
    out.push({ sql: STAGE_REPOSITORY, params: [repository] })
  }
  switch (line.type) {
    case 'repository': break
    case 'tag': out.push({ sql: STAGE_TAG, params: [line.repository, line.tag, line.digest] }); break
    case 'manifest':
      if (line.size <= maxManifestBytes) {
        out.push({ sql: STAGE_MANIFEST, params: [line.repository, line.digest, line.mediaType, line.size, decodeBase64(line.payload), line.subject, line.artifactType, jsonOrNull(line.annotations)] })
      }
      break
    case 'blob': out.push({ sql: STAGE_BLOB, params: [line.repository, line.digest, line.size] }); break
    case 'placement': out.push({ sql: STAGE_PLACEMENT, params: [line.digest, line.location, line.size] }); break
    case 'public': out.push({ sql: STAGE_PUBLIC, params: [line.repository] }); break
    default: {
      const unknown: { type: string } = line
      throw new Error(`unknown snapshot record type ${unknown.type}`)
    }
  }
  return out
}

function jsonOrNull(value: Record<string, string> | null): string | null {
  return value ? JSON.stringify(value) : null
}

/** Standard base64 to bytes with atob (every runtime has it; Uint8Array.fromBase64 is not in Node 20). */
export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
