// The region index's tables (ARCHITECTURE §5 "Region index"): plain SQL that SQLite (better-sqlite3,
// bun:sqlite, node:sqlite) and D1 all accept. Keyed by repository name rather than by id: the feed
// names repositories, and an index is a disposable replica, so no id has to be kept stable.
//
// The index is derived data: when SCHEMA_VERSION differs from the one stored in `meta`, every
// table is dropped and recreated empty, and the follower bootstraps it again from a snapshot.

/** Bump on any change below; an index written by another version is rebuilt, never migrated. */
export const SCHEMA_VERSION = 2

/** The data tables, in the order a snapshot swap copies them. */
export const DATA_TABLES = ['repositories', 'tags', 'manifests', 'repository_blobs', 'placements', 'public_repositories'] as const
export type DataTable = (typeof DATA_TABLES)[number]

/** Column lists, shared by the live tables and their snapshot staging copies. */
const COLUMNS: Record<DataTable, string> = {
  repositories: 'name TEXT NOT NULL PRIMARY KEY',
  tags: 'repository TEXT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (repository, name)',
  manifests:
    'repository TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL, ' +
    'payload BLOB NOT NULL, subject TEXT, artifact_type TEXT, annotations TEXT, PRIMARY KEY (repository, digest)',
  repository_blobs: 'repository TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (repository, digest)',
  placements: 'digest TEXT NOT NULL, location TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (digest, location)',
  // Repositories readable anonymously (access control); a repository absent here is private.
  public_repositories: 'repository TEXT NOT NULL PRIMARY KEY',
}

// Manifests hold payloads of up to megabytes: a rowid table keeps them out of the key b-tree
// (SQLite advises WITHOUT ROWID only for rows under ~1/20 of a page). The rest are small rows
// looked up by their whole key, where WITHOUT ROWID saves one b-tree descent per read.
const WITHOUT_ROWID: Record<DataTable, boolean> = {
  repositories: true, tags: true, manifests: false, repository_blobs: true, placements: true, public_repositories: true,
}

function createTable(name: string, table: DataTable): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (${COLUMNS[table]})${WITHOUT_ROWID[table] ? ' WITHOUT ROWID' : ''}`
}

/** Keys of the `meta` table. */
export const META = {
  schemaVersion: 'schema_version',
  /** Sequence number of the last change applied (or the snapshot's position). */
  position: 'position',
  /** The origin's head as of the last feed page read. */
  head: 'head',
  /** `takenAt` of the snapshot the index was built from; null until one was loaded (not ready). */
  snapshotAt: 'snapshot_at',
  /** When the last feed page was applied (ms since the epoch). */
  syncedAt: 'synced_at',
  /** While behind the head: `at` of the newest change applied, which no pending change predates. */
  behindSince: 'behind_since',
} as const

export const META_TABLE = 'CREATE TABLE IF NOT EXISTS meta (key TEXT NOT NULL PRIMARY KEY, value) WITHOUT ROWID'

/** Every statement that creates the index, empty, at SCHEMA_VERSION with position 0. */
export function createSchema(): string[] {
  return [
    META_TABLE,
    ...DATA_TABLES.map((t) => createTable(t, t)),
    // Referrers API: manifests of a repository whose subject is a digest.
    'CREATE INDEX IF NOT EXISTS manifests_subject ON manifests (repository, subject)',
    'CREATE TABLE IF NOT EXISTS location_health (location TEXT NOT NULL PRIMARY KEY, readable INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID',
    `INSERT OR REPLACE INTO meta (key, value) VALUES ('${META.schemaVersion}', ${SCHEMA_VERSION}), ('${META.position}', 0), ('${META.head}', 0)`,
  ]
}

/** Statements that drop everything the index holds (any version), before createSchema. */
export function dropSchema(): string[] {
  return [...DATA_TABLES, 'location_health', 'meta'].flatMap((t) => [`DROP TABLE IF EXISTS ${t}`, `DROP TABLE IF EXISTS ${stagingName(t)}`])
}

/** Snapshots load into these copies first; the live tables change only at the `end` line. */
export function stagingName(table: string): string {
  return `staging_${table}`
}

export function createStaging(): string[] {
  return DATA_TABLES.flatMap((t) => [`DROP TABLE IF EXISTS ${stagingName(t)}`, createTable(stagingName(t), t)])
}

export function dropStaging(): string[] {
  return DATA_TABLES.map((t) => `DROP TABLE IF EXISTS ${stagingName(t)}`)
}

/**
 * Replaces the live tables' rows with the staged ones; run in the same batch as the meta update.
 * The origin's location.health hints go too: a snapshot carries none, and the flip that ended a
 * hint may be in the part of the log the rebuild skipped (pruned, README "Change feed"), so a kept
 * "down" could outlive the outage for good. The edge's own failure tracking covers a location
 * still down, and the next flip in the feed sets the hint again.
 */
export function swapStaging(): string[] {
  return [
    ...DATA_TABLES.flatMap((t) => [`DELETE FROM ${t}`, `INSERT INTO ${t} SELECT * FROM ${stagingName(t)}`]),
    'DELETE FROM location_health',
    ...dropStaging(),
  ]
}
