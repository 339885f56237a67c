// Great-circle distance and "nearest first" ordering. Pure and portable. Locations and their
// coordinates are a storage concept, and both the origin and the edge sit above storage: the edge
// orders locations by distance from the client, the replication worker orders sources by distance
// from the target.

export interface Coordinates {
  lat: number
  lon: number
}

const EARTH_RADIUS_KM = 6371

/** Haversine distance in kilometres. */
export function distanceKm(a: Coordinates, b: Coordinates): number {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLon = (b.lon - a.lon) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** The items ordered nearest first from `from`; ties keep their input order. */
export function nearestFirst<T extends Coordinates>(from: Coordinates, items: readonly T[]): T[] {
  return items
    .map((item, index) => ({ item, index, d: distanceKm(from, item) }))
    .sort((x, y) => x.d - y.d || x.index - y.index)
    .map((x) => x.item)
}
