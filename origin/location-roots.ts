// Local-disk location roots at start-up (README "Storage faults and location health"). A root is
// created once, when its location is first set up, and carries a marker (location id, deployment
// id: storage/drivers/fs-root.ts) that the fs driver checks from then on. Later, a missing root
// is a vanished volume and a root with another marker is the wrong volume: the location is down,
// refused with a clear log line, and nothing in it is recreated or doubted.

import { mkdir, readFile, readdir, stat, writeFile, rename } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { StorageError } from '../storage/engine.ts'
import { describeRootState, formatMarker, ROOT_MARKER, rootState, type RootState } from '../storage/drivers/fs-root.ts'
import type { Db } from '../db/client.ts'
import { isLocationReferenced } from '../db/queries/location-use.ts'
import { deploymentId, locationRootSetUpAt, recordLocationRootSetUp } from '../db/queries/settings.ts'
import type { LocationConfig } from './config/types.ts'
import { createLocationSet, type LocationSet, type LocationSetOptions } from './locations.ts'
import type { Logger } from './log.ts'
import { describeError } from './log.ts'

/** Top-level directories of Meridian's layout (storage/keys.ts); `lost+found` of a fresh volume. */
const LAYOUT = new Set(['blobs', 'uploads'])
const IGNORED = new Set(['lost+found', '.tmp'])

export type RootOutcome = 'ok' | 'created' | 'adopted' | Exclude<RootState, 'ok'> | 'stranger'

const errno = (err: unknown) => (err as { code?: string } | null)?.code

async function readMarkerText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return null
    throw err
  }
}

async function writeMarker(root: string, location: string, deployment: string): Promise<void> {
  await mkdir(join(root, '.tmp'), { recursive: true })
  // Written to a temp name and renamed: a crash never leaves a half-written marker.
  const tmp = join(root, '.tmp', `${ROOT_MARKER}.${process.pid}`)
  await writeFile(tmp, formatMarker({ location, deployment }), { flush: true })
  await rename(tmp, join(root, ROOT_MARKER))
}

/**
 * Sets up or checks the root of one fs location. The location is *known* when its root was set up
 * before (recorded in the database) or when any placement, upload session or replication job names
 * it: a database upgraded from before markers has no record yet, but its rows say the location
 * held bytes, so an absent or empty root is an unmounted volume there too.
 * - marker present: `ok` if it names this location and deployment, else `foreign`;
 * - no root: `created` when the location is not known, else `missing` (never recreated: that
 *   would fill the parent filesystem with a new copy of it all);
 * - a root without marker: `unmarked` when its set-up was recorded (it had a marker: a `blobs/`
 *   there now may be one a write recreated after the volume vanished); `adopted` (marker written)
 *   when it holds Meridian's layout (an upgrade from before markers), or is empty on a location
 *   not known; `unmarked` when it is empty on a known one (an empty mount point); `stranger` when
 *   it holds only other files.
 */
export async function setUpLocationRoot(db: Db, location: LocationConfig, deployment: string): Promise<RootOutcome> {
  const root = resolve(String((location.params as { root?: unknown }).root))
  const info = await stat(root).catch((err) => { if (errno(err) === 'ENOENT') return null; throw err })
  const recorded = await locationRootSetUpAt(db, location.id) !== null
  const known = async () => recorded || await isLocationReferenced(db, location.id)
  if (!info) {
    if (await known()) return 'missing'
    await mkdir(root, { recursive: true })
    await writeMarker(root, location.id, deployment)
    await recordLocationRootSetUp(db, location.id)
    return 'created'
  }
  if (!info.isDirectory()) return 'missing'
  const text = await readMarkerText(join(root, ROOT_MARKER))
  const state = rootState(true, text, { location: location.id, deployment })
  if (state === 'ok') {
    if (!recorded) await recordLocationRootSetUp(db, location.id)
    return 'ok'
  }
  if (state === 'foreign') return 'foreign'
  const entries = (await readdir(root)).filter((name) => !IGNORED.has(name))
  // Whatever else lies beside it, a `blobs/` or `uploads/` directory is Meridian's layout.
  const meridianLayout = entries.some((name) => LAYOUT.has(name))
  if (!meridianLayout && entries.length > 0) return 'stranger'
  if (recorded || (!meridianLayout && await known())) return 'unmarked'
  await writeMarker(root, location.id, deployment)
  await recordLocationRootSetUp(db, location.id)
  return 'adopted'
}

/**
 * Sets up every fs location's root; one that cannot be used is logged and marked down (the fs
 * driver keeps refusing it until it is repaired, then it comes back by itself). Returns the
 * deployment id the drivers check markers against.
 */
export async function setUpLocationRoots(db: Db, configs: LocationConfig[], log: Logger): Promise<{ deployment: string; outcomes: Map<string, RootOutcome> }> {
  const deployment = await deploymentId(db)
  const outcomes = new Map<string, RootOutcome>()
  for (const location of configs) {
    if (location.driver !== 'fs') continue
    const root = String((location.params as { root?: unknown }).root)
    let outcome: RootOutcome
    try {
      outcome = await setUpLocationRoot(db, location, deployment)
    } catch (err) {
      log.error('location root cannot be checked: location down', { location: location.id, root, error: describeError(err) })
      outcomes.set(location.id, 'missing')
      continue
    }
    outcomes.set(location.id, outcome)
    if (outcome === 'created' || outcome === 'adopted') log.info(`location root ${outcome}`, { location: location.id, root, deployment })
    else if (outcome !== 'ok') log.error('location refused: its root is not usable', { location: location.id, root, problem: rootProblem(outcome, root) })
  }
  return { deployment, outcomes }
}

function rootProblem(outcome: RootOutcome, root: string): string {
  if (outcome === 'stranger') return `root ${root} has no ${ROOT_MARKER} marker and holds files that are not Meridian's: location down`
  return describeRootState(outcome as RootState, root)
}

/** Marks every location whose root was refused as down, so the first requests skip it. */
export function markRefusedRoots(locations: LocationSet, outcomes: Map<string, RootOutcome>): void {
  for (const [id, outcome] of outcomes) {
    if (outcome === 'ok' || outcome === 'created' || outcome === 'adopted') continue
    locations.markDown(id, new StorageError('unavailable', id, `${id}: ${rootProblem(outcome, id)}`))
  }
}

/**
 * The location set of an origin, worker or script: fs roots set up or checked first, every fs
 * driver bound to this deployment's markers, refused roots marked down.
 */
export async function openLocationSet(db: Db, configs: LocationConfig[], preference: string[], log: Logger, options: Pick<LocationSetOptions, 'createEngine' | 'engineContext' | 'downSeconds' | 'onHealthChange'> = {}): Promise<LocationSet> {
  const { deployment, outcomes } = await setUpLocationRoots(db, configs, log)
  const locations = createLocationSet(configs, preference, { ...options, deployment, log })
  markRefusedRoots(locations, outcomes)
  return locations
}
