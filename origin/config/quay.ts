// A Quay config.yaml read as Meridian locations: DISTRIBUTED_STORAGE_CONFIG (engines),
// DISTRIBUTED_STORAGE_PREFERENCE, DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS (→ replicateByDefault),
// FEATURE_PROXY_STORAGE (→ serve: proxy). Quay has no word for coordinates, serve mode or
// read-only, so MERIDIAN_LOCATIONS adds them per location id; Quay ignores that key, so one file
// can serve both registries during a migration.

import type { LocationConfig } from './types.ts'
import { DRIVER_PARAMS, validateDriverParams } from './drivers.ts'
import { checkLocationId, finishLocation, readLocationFields } from './locations.ts'
import { mapQuayDriver } from './quay-drivers.ts'
import { at, problem, warn, type Report } from './report.ts'
import { checkKeys, isAbsent, readBoolean, readMap, readStringList, type YamlMap } from './read-values.ts'

const EXTRA_KEYS = ['lat', 'lon', 'serve', 'readOnly', 'params'] as const

export interface QuayStorage {
  locations: LocationConfig[]
  paths: Map<string, string>
  preference: string[]
}

export function readQuayStorage(report: Report, tree: YamlMap, dataDir: string): QuayStorage {
  const out: QuayStorage = { locations: [], paths: new Map(), preference: [] }
  const engines = readMap(report, tree.DISTRIBUTED_STORAGE_CONFIG, 'DISTRIBUTED_STORAGE_CONFIG') ?? {}
  if (Object.keys(engines).length === 0) problem(report, 'DISTRIBUTED_STORAGE_CONFIG', 'at least one storage engine is required')
  const extras = readMap(report, tree.MERIDIAN_LOCATIONS, 'MERIDIAN_LOCATIONS') ?? {}
  const proxyAll = readBoolean(report, tree.FEATURE_PROXY_STORAGE, 'FEATURE_PROXY_STORAGE') ?? false
  const defaults = readStringList(report, tree.DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS, 'DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS') ?? []

  // Quay ids are case-sensitive and free-form; Meridian's are lowercase. Map every reference.
  const idOf = new Map<string, string>()
  for (const [quayId, tuple] of Object.entries(engines)) {
    const path = at('DISTRIBUTED_STORAGE_CONFIG', quayId)
    const id = quayId.toLowerCase()
    if (id !== quayId) warn(report, path, `location id "${quayId}" becomes "${id}" (Meridian ids are lowercase)`)
    checkLocationId(report, id, path)
    const previous = out.paths.get(id)
    if (previous !== undefined) {
      problem(report, path, `duplicate location id "${id}" (also ${previous})`)
      continue
    }
    idOf.set(quayId, id)
    out.paths.set(id, path)
    const extraKey = quayId in extras ? quayId : id in extras ? id : undefined
    const extra = extraKey === undefined ? undefined : { value: extras[extraKey], path: at('MERIDIAN_LOCATIONS', extraKey) }
    out.locations.push(readEngine(report, { id, quayId, tuple, path, extra, dataDir, proxyAll, isDefault: defaults.includes(quayId) || defaults.includes(id) }))
  }

  for (const key of Object.keys(extras)) {
    if (!idOf.has(key) && !out.paths.has(key)) problem(report, at('MERIDIAN_LOCATIONS', key), 'no such location in DISTRIBUTED_STORAGE_CONFIG')
  }
  defaults.forEach((ref, i) => {
    if (!idOf.has(ref) && !out.paths.has(ref)) problem(report, at('DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS', i), `unknown location "${ref}"`)
  })
  const preference = readStringList(report, tree.DISTRIBUTED_STORAGE_PREFERENCE, 'DISTRIBUTED_STORAGE_PREFERENCE')
  // Quay (storage/__init__.py): no preference means every engine, in declaration order.
  out.preference = preference && preference.length > 0 ? preference.map((ref) => idOf.get(ref) ?? ref) : [...out.paths.keys()]
  if (out.locations.length > 0) {
    warn(report, 'DISTRIBUTED_STORAGE_CONFIG', 'Meridian stores blobs under blobs/<algorithm>/..., Quay under sha256/...: blobs Quay already wrote are not visible to Meridian, even in the same bucket and storage_path')
  }
  return out
}

interface Engine {
  id: string
  quayId: string
  tuple: unknown
  path: string
  extra: { value: unknown; path: string } | undefined
  dataDir: string
  proxyAll: boolean
  isDefault: boolean
}

function readEngine(report: Report, e: Engine): LocationConfig {
  const placeholder = { id: e.id, driver: 'memory' as const, params: {}, lat: 0, lon: 0 }
  const extra = e.extra ? readMap(report, e.extra.value, e.extra.path) : undefined
  const extraPath = e.extra?.path ?? at('MERIDIAN_LOCATIONS', e.quayId)
  if (extra) checkKeys(report, extra, EXTRA_KEYS, extraPath)
  const fields = extra ? readLocationFields(report, extra, extraPath) : {}
  fields.replicateByDefault = e.isDefault
  if (fields.serve === undefined && e.proxyAll) fields.serve = 'proxy'

  // Quay: [DriverName, {parameters}]; a driver without parameters may omit the map.
  const tuple = Array.isArray(e.tuple) ? e.tuple : []
  const [quayDriver, rawParams = {}] = tuple
  if (tuple.length < 1 || tuple.length > 2 || typeof quayDriver !== 'string' || !(isAbsent(rawParams) || typeof rawParams === 'object')) {
    problem(report, e.path, 'expected [QuayDriverName, {parameters}]')
    return finishLocation(report, placeholder, fields, extraPath)
  }
  const quayParams = readMap(report, rawParams, at(e.path, 1)) ?? {}
  const mapping = mapQuayDriver(quayDriver, quayParams)
  if (typeof mapping === 'string') {
    problem(report, at(e.path, 0), `cannot map location "${e.quayId}": ${mapping}`)
    return finishLocation(report, placeholder, fields, extraPath)
  }
  const paramsPath = at(e.path, 1)
  mapping.missing.forEach((name) => problem(report, at(paramsPath, name), 'required'))
  if (mapping.ignored.length > 0) warn(report, paramsPath, `ignored Quay parameters: ${mapping.ignored.join(', ')}`)
  mapping.notes.forEach((note) => warn(report, e.path, note))

  // MERIDIAN_LOCATIONS.<id>.params adds what Quay cannot say (a gcs keyFilename, say).
  const extraParamsPath = at(extraPath, 'params')
  const extraParams = { ...(readMap(report, extra?.params, extraParamsPath) ?? {}) }
  checkKeys(report, extraParams, DRIVER_PARAMS[mapping.driver], extraParamsPath)
  for (const key of Object.keys(extraParams)) if (!DRIVER_PARAMS[mapping.driver].includes(key)) delete extraParams[key]
  const params = validateDriverParams(report, mapping.driver, { ...mapping.params, ...extraParams }, {
    locationId: e.id,
    dataDir: e.dataDir,
    pathOf: (name) => (name in extraParams ? at(extraParamsPath, name) : at(paramsPath, mapping.quayName(name))),
    blockPath: paramsPath,
    nameOf: mapping.quayName,
  })

  if (fields.lat === undefined || fields.lon === undefined) {
    warn(report, e.path, `no coordinates, using 0,0: set ${extraPath}.lat and .lon so edges can pick the nearest location`)
  }
  return finishLocation(report, { id: e.id, driver: mapping.driver, params, lat: fields.lat ?? 0, lon: fields.lon ?? 0 }, fields, extraPath)
}
