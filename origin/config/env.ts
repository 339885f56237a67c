// The environment variables loadConfig reads. An empty variable counts as unset: compose files
// and systemd units often declare `FOO=` to mean "not given".

import { resolve } from 'node:path'
import { DEFAULT_DATA_DIR } from './defaults.ts'
import { CHANGE_RETENTION_RULE, LIMIT_RULES, PORT_RULE, PRESIGN_SECONDS_RULE, checkPublicUrl, checkTrustedProxies, checkUrlSigningKey, type LimitKey } from './origin-settings.ts'
import { problem, type Report } from './report.ts'
import { readBoolean, readNumber } from './read-values.ts'

export const ENV = {
  dataDir: 'MERIDIAN_DATA_DIR',
  config: 'MERIDIAN_CONFIG',
  host: 'MERIDIAN_ORIGIN_HOST',
  port: 'MERIDIAN_ORIGIN_PORT',
  publicUrl: 'MERIDIAN_PUBLIC_URL',
  deleteEnabled: 'MERIDIAN_DELETE_ENABLED',
  urlSigningKey: 'MERIDIAN_URL_SIGNING_KEY',
  presignSeconds: 'MERIDIAN_PRESIGN_SECONDS',
  changeRetentionHours: 'MERIDIAN_CHANGE_RETENTION_HOURS',
  edgeToken: 'MERIDIAN_EDGE_TOKEN',
  trustedProxies: 'MERIDIAN_TRUSTED_PROXIES',
  auth: 'MERIDIAN_AUTH',
  headersTimeoutMs: 'MERIDIAN_HEADERS_TIMEOUT_MS',
  idleTimeoutMs: 'MERIDIAN_IDLE_TIMEOUT_MS',
  maxConnections: 'MERIDIAN_MAX_CONNECTIONS',
  manifestConcurrency: 'MERIDIAN_MANIFEST_CONCURRENCY',
  manifestBodyBytes: 'MERIDIAN_MANIFEST_BODY_BYTES',
  databaseUrl: 'DATABASE_URL',
  preference: 'MERIDIAN_STORAGE_PREFERENCE',
  /** Quay's spelling, so a Quay deployment's environment carries over unchanged. */
  quayPreference: 'QUAY_DISTRIBUTED_STORAGE_PREFERENCE',
} as const

export interface EnvSettings {
  /** Absolute. */
  dataDir: string
  configPath: string | undefined
  host: string | undefined
  port: number | undefined
  publicUrl: string | undefined
  deleteEnabled: boolean | undefined
  urlSigningKey: string | undefined
  presignSeconds: number | undefined
  changeRetentionHours: number | undefined
  edgeToken: string | undefined
  /** MERIDIAN_TRUSTED_PROXIES: comma-separated addresses or CIDRs. */
  trustedProxies: string[] | undefined
  /** MERIDIAN_AUTH: on/off (and the other boolean spellings). */
  auth: boolean | undefined
  limits: Partial<Record<LimitKey, number>>
  /** Not yet checked: relative sqlite paths need the data directory. */
  databaseUrl: string | undefined
  preference: { ids: string[]; source: string } | undefined
}

export function readEnv(report: Report, env: Record<string, string | undefined>): EnvSettings {
  const get = (name: string) => {
    const value = env[name]?.trim()
    return value === '' ? undefined : value
  }
  const configPath = get(ENV.config)
  return {
    dataDir: resolve(get(ENV.dataDir) ?? DEFAULT_DATA_DIR),
    configPath: configPath === undefined ? undefined : resolve(configPath),
    host: get(ENV.host),
    port: readNumber(report, get(ENV.port), ENV.port, PORT_RULE),
    publicUrl: checkPublicUrl(report, get(ENV.publicUrl), ENV.publicUrl),
    deleteEnabled: readBoolean(report, get(ENV.deleteEnabled), ENV.deleteEnabled),
    urlSigningKey: checkUrlSigningKey(report, get(ENV.urlSigningKey), ENV.urlSigningKey),
    presignSeconds: readNumber(report, get(ENV.presignSeconds), ENV.presignSeconds, PRESIGN_SECONDS_RULE),
    changeRetentionHours: readNumber(report, get(ENV.changeRetentionHours), ENV.changeRetentionHours, CHANGE_RETENTION_RULE),
    edgeToken: get(ENV.edgeToken),
    trustedProxies: checkTrustedProxies(report, get(ENV.trustedProxies)?.split(',').map((s) => s.trim()).filter((s) => s !== ''), ENV.trustedProxies),
    auth: readBoolean(report, get(ENV.auth), ENV.auth),
    limits: readLimits(report, get),
    databaseUrl: get(ENV.databaseUrl),
    preference: readPreference(report, get(ENV.preference), get(ENV.quayPreference)),
  }
}

function readLimits(report: Report, get: (name: string) => string | undefined): EnvSettings['limits'] {
  const out: EnvSettings['limits'] = {}
  for (const key of Object.keys(LIMIT_RULES) as LimitKey[]) {
    const value = readNumber(report, get(ENV[key]), ENV[key], LIMIT_RULES[key])
    if (value !== undefined) out[key] = value
  }
  return out
}

function splitIds(text: string): string[] {
  return text.split(',').map((id) => id.trim()).filter((id) => id !== '')
}

function readPreference(report: Report, meridian: string | undefined, quay: string | undefined): EnvSettings['preference'] {
  const chosen = meridian !== undefined ? { text: meridian, source: ENV.preference } : quay !== undefined ? { text: quay, source: ENV.quayPreference } : undefined
  if (chosen === undefined) return undefined
  const ids = splitIds(chosen.text)
  if (meridian !== undefined && quay !== undefined && splitIds(quay).join(',') !== ids.join(',')) {
    problem(report, ENV.preference, `"${meridian}" differs from ${ENV.quayPreference} "${quay}": set one of them`)
  }
  if (ids.length === 0) {
    problem(report, chosen.source, 'lists no location id')
    return undefined
  }
  return { ids, source: chosen.source }
}
