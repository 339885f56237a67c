// An edge's settings: one JSON document (a file for Node, Bun and Deno via MERIDIAN_EDGE_CONFIG,
// a `[vars]` object in wrangler.toml on Workers). Validated here with errors that name the field;
// docs/edge.md documents every field. Secrets (the feed token, S3 keys) come in the document or,
// preferably, in the environment the entry merges in; they are never logged.

import { DEFAULT_PRESIGN_SECONDS } from '../storage/presign-lifetime.ts'
import { JWKS_PATH } from '../oci/auth/types.ts'

export type EdgeDriver = 's3' | 'azure' | 'signed-url' | 'memory'

export interface EdgeLocationConfig {
  id: string
  lat: number
  lon: number
  serve: 'redirect' | 'proxy'
  driver: EdgeDriver
  params: Record<string, unknown>
}

export interface EdgeConfig {
  /** A name for this edge's region, in logs and status. */
  region: string
  /** Where this edge is: the last-resort client position, and the region the index serves. */
  home: { lat: number; lon: number }
  origin: { url: string; publicUrl?: string; token: string | null }
  locations: EdgeLocationConfig[]
  /** Peers whose geo and X-Forwarded-For headers are believed (CIDRs). */
  trustedProxies: string[]
  /** Client networks that are always proxied, never redirected (CIDRs). */
  proxyNetworks: string[]
  presignSeconds: number
  adminToken: string | null
  /** Long-poll of the change feed, seconds. */
  feedWaitSeconds: number
  /** A location is probed at most this often before clients are redirected to it (0: every time). */
  probeSeconds: number
  /** Past this lag (or this long without hearing from the origin) tag reads go to the origin first. */
  staleAfterSeconds: number
  /** Tokens verified at the edge, as the origin issues them; null: access control off (only for an
   * origin that has it off too). */
  auth: EdgeAuthConfig | null
}

/** Access control at the edge: the origin's token settings, and where its public keys are. */
export interface EdgeAuthConfig {
  /** The origin's token endpoint, named in every challenge. */
  realm: string
  /** The `service` of challenges; the `aud` every token must carry. */
  service: string
  /** The `iss` every token must carry. */
  issuer: string
  /** The origin's JWKS; default `<origin.url>/.well-known/jwks.json`. */
  jwksUrl: string
}

export class EdgeConfigError extends Error {
  override name = 'EdgeConfigError'
}

const DRIVERS: readonly EdgeDriver[] = ['s3', 'azure', 'signed-url', 'memory']

/** What the environment may override in the document (secrets, and the JWKS address). */
export interface EdgeEnvOverrides {
  MERIDIAN_EDGE_TOKEN?: string
  MERIDIAN_EDGE_ADMIN_TOKEN?: string
  /** Replaces `auth.jwksUrl` (when auth is on): e.g. the origin's internal address. */
  MERIDIAN_EDGE_JWKS_URL?: string
}

/** The document with the environment's values merged in, parsed. Every entry reads it this way. */
export function parseEdgeConfigWithEnv(raw: Record<string, unknown>, env: EdgeEnvOverrides): EdgeConfig {
  const origin = { ...(raw.origin as Record<string, unknown> | undefined) }
  if (env.MERIDIAN_EDGE_TOKEN) origin.token = env.MERIDIAN_EDGE_TOKEN
  const auth = env.MERIDIAN_EDGE_JWKS_URL && typeof raw.auth === 'object' && raw.auth !== null
    ? { ...(raw.auth as Record<string, unknown>), jwksUrl: env.MERIDIAN_EDGE_JWKS_URL }
    : raw.auth
  return parseEdgeConfig({
    ...raw, origin,
    ...(auth !== undefined ? { auth } : {}),
    ...(env.MERIDIAN_EDGE_ADMIN_TOKEN ? { adminToken: env.MERIDIAN_EDGE_ADMIN_TOKEN } : {}),
  })
}

export function parseEdgeConfig(raw: unknown): EdgeConfig {
  const o = object(raw, 'edge config')
  const home = object(o.home, 'home')
  const origin = object(o.origin, 'origin')
  const locations = array(o.locations ?? [], 'locations').map((l, i) => location(l, `locations[${i}]`))
  const ids = new Set<string>()
  for (const l of locations) {
    if (ids.has(l.id)) throw new EdgeConfigError(`locations: the id ${l.id} appears twice`)
    ids.add(l.id)
  }
  const originUrl = url(origin.url, 'origin.url')
  const presignSeconds = o.presignSeconds === undefined ? DEFAULT_PRESIGN_SECONDS : integer(o.presignSeconds, 'presignSeconds', 10, 7 * 24 * 3600)
  return {
    region: o.region === undefined ? 'default' : string(o.region, 'region'),
    home: { lat: coordinate(home.lat, 'home.lat', 90), lon: coordinate(home.lon, 'home.lon', 180) },
    origin: {
      url: originUrl,
      ...(origin.publicUrl !== undefined ? { publicUrl: url(origin.publicUrl, 'origin.publicUrl') } : {}),
      token: origin.token === undefined || origin.token === null ? null : string(origin.token, 'origin.token'),
    },
    locations,
    trustedProxies: strings(o.trustedProxies ?? [], 'trustedProxies'),
    proxyNetworks: strings(o.proxyNetworks ?? [], 'proxyNetworks'),
    presignSeconds,
    adminToken: o.adminToken === undefined || o.adminToken === null ? null : string(o.adminToken, 'adminToken'),
    feedWaitSeconds: o.feedWaitSeconds === undefined ? 20 : integer(o.feedWaitSeconds, 'feedWaitSeconds', 0, 30),
    probeSeconds: o.probeSeconds === undefined ? 10 : integer(o.probeSeconds, 'probeSeconds', 0, 3600),
    staleAfterSeconds: o.staleAfterSeconds === undefined ? 120 : integer(o.staleAfterSeconds, 'staleAfterSeconds', 1, 86_400),
    auth: auth(o.auth, originUrl),
  }
}

// Required, so an edge config written before access control existed cannot quietly serve an
// origin's private repositories to anyone: the operator says `null` (TOML: `false`) to mean off.
function auth(raw: unknown, originUrl: string): EdgeAuthConfig | null {
  if (raw === undefined) throw new EdgeConfigError('auth: required: the origin\'s token settings {realm, service, issuer}, or null (false in TOML) when the origin has access control off')
  if (raw === null || raw === false) return null
  const a = object(raw, 'auth')
  return {
    realm: url(headerSafe(a.realm, 'auth.realm'), 'auth.realm'),
    service: headerSafe(a.service, 'auth.service'),
    issuer: headerSafe(a.issuer, 'auth.issuer'),
    jwksUrl: a.jwksUrl === undefined ? `${originUrl}${JWKS_PATH}` : url(a.jwksUrl, 'auth.jwksUrl'),
  }
}

/** Realm, service and issuer travel in a quoted challenge parameter: no quotes, backslashes or spaces. */
function headerSafe(v: unknown, at: string): string {
  const s = string(v, at)
  if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s)) throw new EdgeConfigError(`${at}: expected printable ASCII without spaces, quotes or backslashes`)
  return s
}

function location(raw: unknown, at: string): EdgeLocationConfig {
  const l = object(raw, at)
  const driver = string(l.driver, `${at}.driver`) as EdgeDriver
  if (!DRIVERS.includes(driver)) throw new EdgeConfigError(`${at}.driver: ${driver} is not one of ${DRIVERS.join(', ')} (a local-disk location is reached at the edge as signed-url)`)
  const serve = l.serve === undefined ? 'redirect' : string(l.serve, `${at}.serve`)
  if (serve !== 'redirect' && serve !== 'proxy') throw new EdgeConfigError(`${at}.serve: expected redirect or proxy`)
  return {
    id: string(l.id, `${at}.id`), driver, serve,
    lat: coordinate(l.lat, `${at}.lat`, 90), lon: coordinate(l.lon, `${at}.lon`, 180),
    params: l.params === undefined ? {} : object(l.params, `${at}.params`),
  }
}

function object(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new EdgeConfigError(`${at}: expected an object`)
  return v as Record<string, unknown>
}
function array(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new EdgeConfigError(`${at}: expected a list`)
  return v
}
function string(v: unknown, at: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new EdgeConfigError(`${at}: expected a non-empty string`)
  return v
}
function strings(v: unknown, at: string): string[] {
  return array(v, at).map((s, i) => string(s, `${at}[${i}]`))
}
function coordinate(v: unknown, at: string, limit: number): number {
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isFinite(n) || Math.abs(n) > limit) throw new EdgeConfigError(`${at}: expected a number within ±${limit}`)
  return n
}
function integer(v: unknown, at: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new EdgeConfigError(`${at}: expected a whole number from ${min} to ${max}`)
  return v
}
function url(v: unknown, at: string): string {
  const s = string(v, at)
  try {
    const u = new URL(s)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error()
  } catch {
    throw new EdgeConfigError(`${at}: expected an http(s) URL`)
  }
  return s.replace(/\/+$/, '')
}
