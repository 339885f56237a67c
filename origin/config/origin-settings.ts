// The `origin:` block and `databaseUrl`, and the checks their environment variables share.

import { isAbsolute, resolve } from 'node:path'
import type { OriginSettings } from './types.ts'
import { MAX_MANIFEST_BYTES } from '../../oci/manifest.ts'
import { MAX_PRESIGN_SECONDS, MIN_PRESIGN_SECONDS } from '../../storage/presign-lifetime.ts'
import { MIN_SIGNING_KEY_LENGTH } from '../../storage/signed-url.ts'
import { at, problem, type Report } from './report.ts'
import { checkHttpUrl, checkKeys, readBoolean, readMap, readNumber, readString, readStringList } from './read-values.ts'
import { CidrError, parseCidrList } from '../../oci/net/cidr.ts'

const LIMIT_KEYS = ['headersTimeoutMs', 'idleTimeoutMs', 'maxConnections', 'manifestConcurrency', 'manifestBodyBytes'] as const
const ORIGIN_KEYS = ['host', 'port', 'deleteEnabled', 'publicUrl', 'edgeToken', 'trustedProxies', 'urlSigningKey', 'presignSeconds', 'changeRetentionHours', ...LIMIT_KEYS] as const

export type LimitKey = typeof LIMIT_KEYS[number]

export const PORT_RULE = { integer: true, min: 0, max: 65535 }

export const PRESIGN_SECONDS_RULE = { integer: true, min: MIN_PRESIGN_SECONDS, max: MAX_PRESIGN_SECONDS }

/** 0 (keep every change), or at least an hour: the pruning pass runs hourly. */
export const CHANGE_RETENTION_RULE = { integer: true, min: 0 }

/** Timeouts of at least 100 ms (Node checks them at a tenth of their length); counts from 1. */
export const LIMIT_RULES: Record<LimitKey, { integer: true; min: number }> = {
  headersTimeoutMs: { integer: true, min: 100 },
  idleTimeoutMs: { integer: true, min: 100 },
  maxConnections: { integer: true, min: 1 },
  manifestConcurrency: { integer: true, min: 1 },
  // One manifest at the size limit must fit, or it could never be pushed.
  manifestBodyBytes: { integer: true, min: MAX_MANIFEST_BYTES },
}

export function readOriginBlock(report: Report, value: unknown): Partial<OriginSettings> {
  const map = readMap(report, value, 'origin')
  if (!map) return {}
  checkKeys(report, map, ORIGIN_KEYS, 'origin')
  const out: Partial<OriginSettings> = {}
  const host = readString(report, map.host, 'origin.host')
  if (host !== undefined) out.host = host
  const port = readNumber(report, map.port, 'origin.port', PORT_RULE)
  if (port !== undefined) out.port = port
  const deleteEnabled = readBoolean(report, map.deleteEnabled, 'origin.deleteEnabled')
  if (deleteEnabled !== undefined) out.deleteEnabled = deleteEnabled
  const publicUrl = checkPublicUrl(report, readString(report, map.publicUrl, at('origin', 'publicUrl')), 'origin.publicUrl')
  if (publicUrl !== undefined) out.publicUrl = publicUrl
  const urlSigningKey = checkUrlSigningKey(report, readString(report, map.urlSigningKey, 'origin.urlSigningKey'), 'origin.urlSigningKey')
  if (urlSigningKey !== undefined) out.urlSigningKey = urlSigningKey
  const presignSeconds = readNumber(report, map.presignSeconds, 'origin.presignSeconds', PRESIGN_SECONDS_RULE)
  if (presignSeconds !== undefined) out.presignSeconds = presignSeconds
  const changeRetentionHours = readNumber(report, map.changeRetentionHours, 'origin.changeRetentionHours', CHANGE_RETENTION_RULE)
  if (changeRetentionHours !== undefined) out.changeRetentionHours = changeRetentionHours
  // A secret: write it as ${MERIDIAN_EDGE_TOKEN} in the file rather than in clear.
  const edgeToken = readString(report, map.edgeToken, 'origin.edgeToken')
  if (edgeToken !== undefined) out.edgeToken = edgeToken
  const trustedProxies = checkTrustedProxies(report, readStringList(report, map.trustedProxies, 'origin.trustedProxies'), 'origin.trustedProxies')
  if (trustedProxies !== undefined) out.trustedProxies = trustedProxies
  for (const key of LIMIT_KEYS) {
    const value = readNumber(report, map[key], at('origin', key), LIMIT_RULES[key])
    if (value !== undefined) out[key] = value
  }
  return out
}

/** Every entry an address or a CIDR range: a typo must fail the start, not trust nobody (or everybody). */
export function checkTrustedProxies(report: Report, value: string[] | undefined, path: string): string[] | undefined {
  if (value === undefined) return undefined
  try {
    parseCidrList(value)
    return value
  } catch (err) {
    if (!(err instanceof CidrError)) throw err
    problem(report, path, err.message)
    return undefined
  }
}

/** A URL signing key must be long enough to be secret; its value is never echoed in a problem. */
export function checkUrlSigningKey(report: Report, value: string | undefined, path: string): string | undefined {
  if (value === undefined) return undefined
  if (value.length < MIN_SIGNING_KEY_LENGTH) {
    problem(report, path, `too short: at least ${MIN_SIGNING_KEY_LENGTH} characters (e.g. \`openssl rand -base64 32\`)`)
    return undefined
  }
  return value
}

/** The base URL clients reach the origin at; used in Location headers and token realms. */
export function checkPublicUrl(report: Report, value: string | undefined, path: string): string | undefined {
  return checkHttpUrl(report, value, path, { bare: true })
}

/** `sqlite:<path>` (relative paths live under the data directory, like fs roots) or postgres. */
export function checkDatabaseUrl(report: Report, value: string | undefined, path: string, dataDir: string): string | undefined {
  if (value === undefined) return undefined
  if (/^postgres(ql)?:\/\/./.test(value)) return value
  if (value.startsWith('sqlite:')) {
    const file = value.slice('sqlite:'.length)
    if (file === '') {
      problem(report, path, 'sqlite: needs a file path, or :memory:')
      return undefined
    }
    if (file === ':memory:') return value
    return `sqlite:${isAbsolute(file) ? file : resolve(dataDir, file)}`
  }
  // Never echo the value: a database URL usually carries a password.
  problem(report, path, 'expected sqlite:<path> or a postgres:// URL')
  return undefined
}
