// Reads the YAML file MERIDIAN_CONFIG names. Two shapes: a Meridian file (`locations:` ...), or a
// Quay config.yaml, recognised by DISTRIBUTED_STORAGE_CONFIG. Both may carry Meridian's own
// `origin`, `databaseUrl`, `namespaces`, `replication` and `preference` blocks.

import { parseDocument } from 'yaml'
import type { AuthConfig, LocationConfig, NamespacePolicy, OriginSettings, ReplicationConfig } from './types.ts'
import { DEFAULT_REPLICATION } from './defaults.ts'
import { substituteEnv } from './env-substitution.ts'
import { readAuthBlock } from './auth.ts'
import { readLocations } from './locations.ts'
import { readNamespaces } from './namespaces.ts'
import { readOriginBlock } from './origin-settings.ts'
import { readQuayStorage } from './quay.ts'
import { readReplication } from './replication.ts'
import { problem, warn, type Report } from './report.ts'
import { isAbsent, isMap, readBoolean, readString, readStringList, type YamlMap } from './read-values.ts'

export interface ParsedFile {
  origin: Partial<OriginSettings>
  databaseUrl: string | undefined
  locations: LocationConfig[]
  /** Where each location id was declared, for problems found later. */
  locationPaths: Map<string, string>
  preference: string[] | undefined
  /** How the file names its preference list, for problems about entries of it. */
  preferencePath: string
  namespaces: NamespacePolicy[]
  replication: ReplicationConfig
  auth: Partial<AuthConfig>
}

const SHARED_KEYS = ['origin', 'databaseUrl', 'namespaces', 'replication', 'preference', 'auth']
const MERIDIAN_KEYS = [...SHARED_KEYS, 'locations']
const QUAY_KEYS = [
  'DISTRIBUTED_STORAGE_CONFIG',
  'DISTRIBUTED_STORAGE_PREFERENCE',
  'DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS',
  'FEATURE_STORAGE_REPLICATION',
  'FEATURE_PROXY_STORAGE',
  'MERIDIAN_LOCATIONS',
]

export function readConfigFile(
  report: Report,
  text: string,
  filePath: string,
  env: Record<string, string | undefined>,
  dataDir: string,
): ParsedFile | undefined {
  const doc = parseDocument(text)
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const where = error.linePos ? `${filePath}:${error.linePos[0].line}:${error.linePos[0].col}` : filePath
      problem(report, where, (error.message.split('\n')[0] ?? 'invalid YAML').replace(/ at line \d+, column \d+:?$/, ''))
    }
    return undefined
  }
  const root: unknown = doc.toJS()
  if (!isAbsent(root) && !isMap(root)) {
    problem(report, filePath, 'expected a map at the top of the file')
    return undefined
  }
  const raw: YamlMap = root ?? {}
  const quay = 'DISTRIBUTED_STORAGE_CONFIG' in raw
  const known = quay ? [...SHARED_KEYS, ...QUAY_KEYS] : MERIDIAN_KEYS
  const tree: YamlMap = {}
  const ignoredQuayKeys: string[] = []
  for (const [key, value] of Object.entries(raw)) {
    if (known.includes(key)) {
      // Substitute only what is read: an unset variable in an ignored key is nobody's problem.
      tree[key] = substituteEnv(value, env, report, key)
    } else if (quay && /^[A-Z0-9_]+$/.test(key)) {
      ignoredQuayKeys.push(key)
    } else if (key === 'locations') {
      problem(report, key, 'a Quay file declares locations in DISTRIBUTED_STORAGE_CONFIG; coordinates and serve modes go in MERIDIAN_LOCATIONS')
    } else if (QUAY_KEYS.includes(key)) {
      warn(report, key, 'ignored: Quay keys are read only from a file with DISTRIBUTED_STORAGE_CONFIG')
    } else {
      warn(report, key, `unknown top-level key, ignored (expected ${known.join(', ')})`)
    }
  }
  if (ignoredQuayKeys.length > 0) {
    const shown = ignoredQuayKeys.slice(0, 8).join(', ') + (ignoredQuayKeys.length > 8 ? `, and ${ignoredQuayKeys.length - 8} more` : '')
    warn(report, '', `ignored ${ignoredQuayKeys.length} Quay setting(s) that Meridian does not use: ${shown}`)
  }

  const parsed: ParsedFile = {
    origin: readOriginBlock(report, tree.origin),
    databaseUrl: readString(report, tree.databaseUrl, 'databaseUrl'),
    locations: [],
    locationPaths: new Map(),
    preference: readStringList(report, tree.preference, 'preference'),
    preferencePath: 'preference',
    namespaces: readNamespaces(report, tree.namespaces),
    replication: DEFAULT_REPLICATION,
    auth: readAuthBlock(report, tree.auth),
  }
  if (!quay) {
    const read = readLocations(report, tree.locations, dataDir)
    parsed.locations = read.locations
    parsed.locationPaths = read.paths
    parsed.replication = readReplication(report, tree.replication, DEFAULT_REPLICATION)
    return parsed
  }

  const storage = readQuayStorage(report, tree, dataDir)
  parsed.locations = storage.locations
  parsed.locationPaths = storage.paths
  if (parsed.preference !== undefined && !isAbsent(tree.DISTRIBUTED_STORAGE_PREFERENCE)) {
    problem(report, 'preference', 'give either preference or DISTRIBUTED_STORAGE_PREFERENCE, not both')
  } else if (parsed.preference === undefined) {
    parsed.preference = storage.preference
    parsed.preferencePath = 'DISTRIBUTED_STORAGE_PREFERENCE'
  }
  // Quay replicates only with FEATURE_STORAGE_REPLICATION: true (its default is false).
  const feature = readBoolean(report, tree.FEATURE_STORAGE_REPLICATION, 'FEATURE_STORAGE_REPLICATION')
  parsed.replication = readReplication(report, tree.replication, { ...DEFAULT_REPLICATION, enabled: feature ?? false })
  const explicit = isMap(tree.replication) ? tree.replication.enabled : undefined
  if (feature !== undefined && !isAbsent(explicit) && parsed.replication.enabled !== feature) {
    problem(report, 'replication.enabled', `contradicts FEATURE_STORAGE_REPLICATION: ${feature}`)
  }
  if (!parsed.replication.enabled && parsed.locations.some((l) => l.replicateByDefault)) {
    warn(report, 'DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS', 'has no effect while FEATURE_STORAGE_REPLICATION is not true: blobs stay where they were pushed')
  }
  return parsed
}
