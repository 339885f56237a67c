// Which locations a blob GET is served from, in what order and how (ARCHITECTURE §4.4, §5 Pull):
// the locations the index lists as holding the blob present, nearest to the client first, those
// marked down skipped; each redirected to or proxied per its `serve` setting, except for client
// networks that must always be proxied. The origin comes after all of them.

import { distanceKm } from '../storage/distance.ts'
import type { StorageEngine } from '../storage/engine.ts'
import type { Position } from './geo/locate.ts'
import type { LocationHealth } from './health.ts'

export interface EdgeLocation {
  id: string
  lat: number
  lon: number
  /** 307 to a presigned URL (when the engine can presign), or stream the bytes through the edge. */
  serve: 'redirect' | 'proxy'
  engine: StorageEngine
}

export interface PlannedStep {
  location: EdgeLocation
  distanceKm: number
  how: 'redirect' | 'proxy'
}

export interface RoutePlan {
  steps: PlannedStep[]
  /** Locations the index lists that this edge does not use now, and why (for the debug endpoint). */
  skipped: Array<{ id: string; reason: 'unknown location' | 'marked down' | 'down at the origin' }>
}

export function planRoute(options: {
  present: string[]
  locations: ReadonlyMap<string, EdgeLocation>
  client: Position
  health: LocationHealth
  /** Locations the origin reports it cannot read (a hint from the feed). */
  originDown?: ReadonlySet<string>
  /** The client's network must be proxied (firewalled sites cannot reach storage hosts). */
  mustProxy: boolean
}): RoutePlan {
  const steps: PlannedStep[] = []
  const skipped: RoutePlan['skipped'] = []
  for (const id of options.present) {
    const location = options.locations.get(id)
    if (!location) skipped.push({ id, reason: 'unknown location' })
    else if (!options.health.isUp(id)) skipped.push({ id, reason: 'marked down' })
    else if (options.originDown?.has(id)) skipped.push({ id, reason: 'down at the origin' })
    else {
      const how = options.mustProxy || location.serve === 'proxy' || !location.engine.presign ? 'proxy' : 'redirect'
      steps.push({ location, distanceKm: distanceKm(options.client, location), how })
    }
  }
  // Nearest first; equal distances keep the index's order.
  steps.sort((a, b) => a.distanceKm - b.distanceKm)
  return { steps, skipped }
}
