// The marker file at the root of a local-disk location, and the check the fs driver runs against
// it (storage/drivers/fs.ts). A root that vanished (an unmounted volume, a renamed directory) or
// that belongs to someone else (another location, another deployment: the wrong volume mounted at
// the path) must read as "this location is down", never as "every key is absent": an absent key
// gets its placement marked missing and re-copied, into a directory recreated on the parent
// filesystem. Takes its file access as functions, so only fs.ts imports Node modules (§4.6).

import { StorageError } from '../engine.ts'

/** File name of the marker, directly under the root. Never a key (the driver refuses it). */
export const ROOT_MARKER = '.meridian-location'

/** Whose root this is: written once when the location is set up (origin/location-roots.ts). */
export interface RootMarker {
  location: string
  deployment: string
}

/** The marker file's text: JSON, one line, readable by an operator with `cat`. */
export function formatMarker(marker: RootMarker, createdAt = new Date()): string {
  return `${JSON.stringify({ meridian: 'location-root', location: marker.location, deployment: marker.deployment, createdAt: createdAt.toISOString() })}\n`
}

/** The marker in `text`, or null when it is not a Meridian marker at all. */
export function parseMarker(text: string): RootMarker | null {
  try {
    const value = JSON.parse(text) as Record<string, unknown>
    if (value?.meridian !== 'location-root' || typeof value.location !== 'string' || typeof value.deployment !== 'string') return null
    return { location: value.location, deployment: value.deployment }
  } catch {
    return null
  }
}

export type RootState = 'ok' | 'missing' | 'unmarked' | 'foreign'

/** What state a root is in, given the marker text found there (null: no marker file). */
export function rootState(rootExists: boolean, markerText: string | null, expected: RootMarker): RootState {
  if (!rootExists) return 'missing'
  if (markerText === null) return 'unmarked'
  const found = parseMarker(markerText)
  return found && found.location === expected.location && found.deployment === expected.deployment ? 'ok' : 'foreign'
}

/** What an operator reads when a root is not usable. */
export function describeRootState(state: RootState, root: string, markerText: string | null = null): string {
  switch (state) {
    case 'ok': return `root ${root} is this location's`
    case 'missing': return `root ${root} is missing (volume not mounted, directory moved?): location down, not recreated`
    case 'unmarked': return `root ${root} has no ${ROOT_MARKER} marker (volume not mounted? marker removed?): location down`
    case 'foreign': return `root ${root} belongs to another location or deployment (${(markerText ?? '').trim().slice(0, 200)}): location down`
  }
}

export interface RootAccess {
  /** The marker file's text; throws an error with `code` ENOENT/ENOTDIR when there is none. */
  readMarker(): Promise<string>
  /** Whether the root exists as a directory. */
  rootExists(): Promise<boolean>
  /**
   * The marker file's identity now (device, inode, size, change time), or null when it cannot be
   * had. Optional: with it, a marker already found right is not read again until it changes.
   */
  markerIdentity?(): Promise<string | null>
}

/** The longest a marker found right is trusted by its identity alone. */
export const MARKER_REREAD_MS = 5000

/** Checks a root against its expected marker, now (reads when a key is absent, and every write). */
export function createRootCheck(location: string, root: string, expected: RootMarker, access: RootAccess) {
  // The identity of the marker last read and found right. A write checks the root up to three
  // times (one stat each this way, where a read is four file operations: open, fstat, read,
  // close); another volume mounted at the path, a rewritten or removed marker, a moved root all
  // change the identity, or leave none, and the marker is read again. It is read at least every
  // MARKER_REREAD_MS anyway: a stat may be answered from a cache (NFS attributes, up to 60 s)
  // where an open revalidates, and device numbers of unmounted filesystems are reused.
  let verified: string | null = null
  let verifiedAt = 0
  return {
    async assert(): Promise<void> {
      const identity = access.markerIdentity ? await access.markerIdentity().catch(() => null) : null
      if (identity !== null && identity === verified && Date.now() - verifiedAt < MARKER_REREAD_MS) return
      verified = null
      let text: string | null
      try {
        text = await access.readMarker()
      } catch (err) {
        const code = (err as { code?: string } | null)?.code
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err
        text = null
      }
      const state = rootState(text !== null || await access.rootExists(), text, expected)
      if (state !== 'ok') throw new StorageError('unavailable', location, `${location}: ${describeRootState(state, root, text)}`)
      // Taken before the read: a marker changed in between reads as changed next time.
      verified = identity
      verifiedAt = Date.now()
    },
  }
}
