// The `locations:` block of a Meridian file, as a map keyed by id or as a list of entries with
// an `id`. The field readers are shared with the Quay mapping, whose MERIDIAN_LOCATIONS extras
// add what Quay has no word for (coordinates, serve mode, read-only).

import type { DriverName, LocationConfig } from './types.ts'
import { DRIVER_NAMES } from './types.ts'
import { PRESIGNING_DRIVERS, canPresign, validateDriverParams } from './drivers.ts'
import { at, problem, type Report } from './report.ts'
import { checkKeys, isAbsent, isMap, readBoolean, readMap, readNumber, readString, type YamlMap } from './read-values.ts'

export const LOCATION_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/

const LOCATION_KEYS = ['driver', 'params', 'lat', 'lon', 'replicateByDefault', 'serve', 'readOnly'] as const

/** What a location entry may say besides its driver and parameters. */
export interface LocationFields {
  lat?: number
  lon?: number
  replicateByDefault?: boolean
  serve?: 'redirect' | 'proxy'
  readOnly?: boolean
}

export function readLocationFields(report: Report, raw: YamlMap, path: string): LocationFields {
  const serve = readString(report, raw.serve, at(path, 'serve'))
  if (serve !== undefined && serve !== 'redirect' && serve !== 'proxy') {
    problem(report, at(path, 'serve'), `expected "redirect" or "proxy", got "${serve}"`)
  }
  return {
    lat: readNumber(report, raw.lat, at(path, 'lat'), { min: -90, max: 90 }),
    lon: readNumber(report, raw.lon, at(path, 'lon'), { min: -180, max: 180 }),
    replicateByDefault: readBoolean(report, raw.replicateByDefault, at(path, 'replicateByDefault')),
    serve: serve === 'redirect' || serve === 'proxy' ? serve : undefined,
    readOnly: readBoolean(report, raw.readOnly, at(path, 'readOnly')),
  }
}

export function checkLocationId(report: Report, id: string, path: string): void {
  if (!LOCATION_ID.test(id)) {
    problem(report, path, `invalid location id "${id}" (lowercase letters, digits, '-' and '_', starting with a letter or digit, at most 63)`)
  }
}

/** Fills defaults and checks the rules that concern several fields at once. */
export function finishLocation(
  report: Report,
  base: { id: string; driver: DriverName; params: Record<string, unknown>; lat: number; lon: number },
  fields: LocationFields,
  path: string,
): LocationConfig {
  const presigns = canPresign(base.driver, base.params)
  const location: LocationConfig = {
    ...base,
    replicateByDefault: fields.replicateByDefault ?? false,
    // memory, and fs without a publicUrl, cannot presign: the edge has to stream their bytes.
    serve: fields.serve ?? (presigns ? 'redirect' : 'proxy'),
    readOnly: fields.readOnly ?? false,
  }
  if (location.serve === 'redirect' && !presigns) {
    const how = base.driver === 'fs' ? 'fs without params.publicUrl' : base.driver
    problem(report, at(path, 'serve'), `"redirect" needs a driver that can presign URLs (${PRESIGNING_DRIVERS.join(', ')}, or fs with params.publicUrl); ${how} can only "proxy"`)
  }
  if (location.readOnly && location.replicateByDefault) {
    problem(report, at(path, 'replicateByDefault'), 'a read-only location never receives replication, so it cannot be a default location')
  }
  return location
}

export function readDriverName(report: Report, value: unknown, path: string): DriverName | undefined {
  const name = readString(report, value, path, { required: true })
  if (name === undefined) return undefined
  if ((DRIVER_NAMES as readonly string[]).includes(name)) return name as DriverName
  const hint = /Storage$/.test(name) ? ' (Quay driver names belong in a DISTRIBUTED_STORAGE_CONFIG file)' : ''
  problem(report, path, `unknown driver "${name}" (expected ${DRIVER_NAMES.join(', ')})${hint}`)
  return undefined
}

/** One Meridian location entry. Returns a best-effort location even when it has problems, so
 * that references to it elsewhere are not reported as unknown too. */
function readLocation(report: Report, id: string, raw: YamlMap, path: string, dataDir: string): LocationConfig {
  checkKeys(report, raw, LOCATION_KEYS, path)
  const driver = readDriverName(report, raw.driver, at(path, 'driver'))
  const paramsPath = at(path, 'params')
  const rawParams = readMap(report, raw.params, paramsPath) ?? {}
  const params = driver
    ? validateDriverParams(report, driver, rawParams, {
        locationId: id,
        dataDir,
        pathOf: (name) => at(paramsPath, name),
        blockPath: paramsPath,
      })
    : {}
  const fields = readLocationFields(report, raw, path)
  // A location without coordinates would silently be "nearest" to nobody, or to everybody.
  if (isAbsent(raw.lat)) problem(report, at(path, 'lat'), 'required')
  if (isAbsent(raw.lon)) problem(report, at(path, 'lon'), 'required')
  return finishLocation(report, { id, driver: driver ?? 'memory', params, lat: fields.lat ?? 0, lon: fields.lon ?? 0 }, fields, path)
}

export interface ReadLocations {
  locations: LocationConfig[]
  /** Where each id was declared, for problems found later (duplicates, references). */
  paths: Map<string, string>
}

export function readLocations(report: Report, value: unknown, dataDir: string): ReadLocations {
  const out: ReadLocations = { locations: [], paths: new Map() }
  if (isAbsent(value)) {
    problem(report, 'locations', 'required (a config file replaces the built-in locations)')
    return out
  }
  const add = (id: string, raw: unknown, path: string, idPath: string) => {
    checkLocationId(report, id, idPath)
    if (isAbsent(raw)) problem(report, path, 'empty location: expected driver, params, lat and lon')
    const entry = readMap(report, raw, path)
    if (!entry) return
    const previous = out.paths.get(id)
    if (previous !== undefined) {
      problem(report, idPath, `duplicate location id "${id}" (also ${previous})`)
      return
    }
    out.paths.set(id, path)
    out.locations.push(readLocation(report, id, entry, path, dataDir))
  }
  if (Array.isArray(value)) {
    value.forEach((raw, i) => {
      const path = at('locations', i)
      const entry = readMap(report, raw, path)
      if (!entry) return
      const id = readString(report, entry.id, at(path, 'id'), { required: true })
      if (id === undefined) return
      const rest = { ...entry }
      delete rest.id
      add(id, rest, path, at(path, 'id'))
    })
  } else {
    const map = readMap(report, value, 'locations')
    for (const [id, raw] of Object.entries(map ?? {})) add(id, raw, at('locations', id), at('locations', id))
  }
  const declared = Array.isArray(value) ? value.length : isMap(value) ? Object.keys(value).length : -1
  if (declared === 0) problem(report, 'locations', 'at least one location is required')
  return out
}
