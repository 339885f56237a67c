// The change feed and snapshot the origin serves and region indexes apply (ARCHITECTURE §5
// "Region index"). Both sides import these types; nothing here runs.
//
// Applying a change is idempotent and sets state (never increments), so an index that loads a
// snapshot taken at position P (read before the tables) and then applies every change after P in
// order converges on the origin's state even if the snapshot already contains some of them.

/** Paths on the origin, under its public URL; protected by the edge credential. */
export const FEED_PATH = '/_meridian/feed'
export const SNAPSHOT_PATH = '/_meridian/snapshot'

export type Change = { seq: number; at: number } & (
  | { kind: 'tag.set'; repository: string; tag: string; digest: string }
  | { kind: 'tag.deleted'; repository: string; tag: string }
  /** `payload` is the manifest's bytes in base64; null when it was deleted since (a
   * `manifest.deleted` follows in the feed). */
  | { kind: 'manifest.put'; repository: string; digest: string; mediaType: string; size: number; subject: string | null; artifactType: string | null; annotations: Record<string, string> | null; payload: string | null }
  | { kind: 'manifest.deleted'; repository: string; digest: string }
  | { kind: 'blob.linked'; repository: string; digest: string; size: number }
  | { kind: 'blob.unlinked'; repository: string; digest: string }
  | { kind: 'placement.present'; digest: string; location: string; size: number }
  | { kind: 'placement.removed'; digest: string; location: string }
  /** The origin's view of a location's health flipped (a hint: edges keep their own view). */
  | { kind: 'location.health'; location: string; readable: boolean }
  /** The repository was made public (readable anonymously) or private again (access control). */
  | { kind: 'repository.visibility'; repository: string; public: boolean }
)

export type ChangeKind = Change['kind']

/** `GET FEED_PATH?after=<seq>&limit=<n>&wait=<seconds>`. */
export interface FeedPage {
  changes: Change[]
  /** Ask for `after=next` to continue (the last seq in `changes`, or `after` when empty). */
  next: number
  /** The newest seq at the origin when this page was read: `head - next` is the index's lag in changes. */
  head: number
}

/**
 * `GET SNAPSHOT_PATH`: newline-delimited JSON, streamed. The first line is the header, then one
 * record per line; the last line is `{ "type": "end", "records": <count> }` (a snapshot without it
 * was cut short and must not be used).
 */
export type SnapshotLine =
  | { type: 'header'; position: number; takenAt: number }
  | { type: 'repository'; name: string }
  | { type: 'tag'; repository: string; tag: string; digest: string }
  | { type: 'manifest'; repository: string; digest: string; mediaType: string; size: number; subject: string | null; artifactType: string | null; annotations: Record<string, string> | null; payload: string }
  | { type: 'blob'; repository: string; digest: string; size: number }
  | { type: 'placement'; digest: string; location: string; size: number }
  /** A repository readable anonymously (absent: private). */
  | { type: 'public'; repository: string }
  | { type: 'end'; records: number }
