// The `auth:` block and MERIDIAN_AUTH (docs/access-control.md), and the token settings the origin
// and its edges derive from them. Access control is on unless switched off: deny by default.

import type { AuthSettings } from '../../oci/auth/types.ts'
import { TOKEN_PATH } from '../../oci/auth/types.ts'
import type { AuthConfig, MeridianConfig } from './types.ts'
import { at, problem, warn, type Report } from './report.ts'
import { checkKeys, readBoolean, readMap, readNumber, readString } from './read-values.ts'

/** Below a minute, clients re-ask for a token between a layer's upload and its manifest. */
export const TOKEN_SECONDS_RULE = { integer: true, min: 60, max: 86_400 }
const FAILURE_RULE = { integer: true, min: 1 }
const AUTH_KEYS = ['enabled', 'service', 'issuer', 'tokenSeconds', 'loginFailuresPerAccount', 'loginFailuresPerAddress'] as const

export function readAuthBlock(report: Report, value: unknown): Partial<AuthConfig> {
  const map = readMap(report, value, 'auth')
  if (!map) return {}
  checkKeys(report, map, AUTH_KEYS, 'auth')
  const out: Partial<AuthConfig> = {}
  const enabled = readBoolean(report, map.enabled, 'auth.enabled')
  if (enabled !== undefined) out.enabled = enabled
  for (const key of ['service', 'issuer'] as const) {
    const text = readString(report, map[key], at('auth', key))
    if (text === undefined) continue
    // Both travel inside a quoted challenge parameter and a JWT claim: no quotes, no spaces.
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(text)) problem(report, at('auth', key), 'printable ASCII without spaces, quotes or backslashes')
    else out[key] = text
  }
  const tokenSeconds = readNumber(report, map.tokenSeconds, 'auth.tokenSeconds', TOKEN_SECONDS_RULE)
  if (tokenSeconds !== undefined) out.tokenSeconds = tokenSeconds
  for (const key of ['loginFailuresPerAccount', 'loginFailuresPerAddress'] as const) {
    const n = readNumber(report, map[key], at('auth', key), FAILURE_RULE)
    if (n !== undefined) out[key] = n
  }
  return out
}

/**
 * Tokens name the service they are for, so the realm clients fetch them from must be reachable:
 * without a public URL it is derived from the listen address, which only loopback clients share.
 */
export function checkAuthReachable(report: Report, config: MeridianConfig): void {
  if (!config.auth.enabled || config.origin.publicUrl !== null) return
  if (['127.0.0.1', 'localhost', '::1'].includes(config.origin.host)) return
  warn(report, 'origin.publicUrl', `not set while access control is on: the token realm will be http://${config.origin.host}:<port>${TOKEN_PATH}, which clients elsewhere may not reach (set MERIDIAN_PUBLIC_URL)`)
}

/**
 * The realm, service and issuer of this deployment. `originUrl` is the origin's public URL, or
 * the address it listens on when none is configured (known only once it listens: port 0).
 */
export function authSettingsFor(config: MeridianConfig, originUrl: string): AuthSettings {
  const base = (config.origin.publicUrl ?? originUrl).replace(/\/+$/, '')
  const host = new URL(base).host
  return { realm: `${base}${TOKEN_PATH}`, service: config.auth.service ?? host, issuer: config.auth.issuer ?? `meridian:${host}` }
}
