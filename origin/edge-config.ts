// The edge config document (edge/config.ts, docs/edge.md) for an edge of this deployment, made
// from the origin's own config: every location with its coordinates and `serve` setting, a
// local-disk location as `signed-url` (it must name a publicUrl; without one the edge cannot
// reach it and the origin serves its blobs). A plain object: the origin does not import the edge;
// `npm start` and the tests write it out for their edges.

import type { MeridianConfig } from './config/types.ts'
import type { AuthSettings } from '../oci/auth/types.ts'
import { authSettingsFor } from './config/auth.ts'

export interface EdgeDescription {
  region: string
  home: { lat: number; lon: number }
  /** Where the edge reaches the origin. */
  originUrl: string
  trustedProxies?: string[]
  proxyNetworks?: string[]
  adminToken?: string | null
  feedWaitSeconds?: number
  probeSeconds?: number
  /**
   * Token settings the edge verifies against. Default: the origin's own (`authSettingsFor`: realm,
   * service and issuer from its public URL, or `originUrl` without one) when its access control is
   * on, null when it is off. Give them when the origin's public URL is unset and differs from
   * `originUrl`.
   */
  auth?: AuthSettings | null
  /** Where the edge fetches the origin's public keys; default `<originUrl>/.well-known/jwks.json`. */
  jwksUrl?: string
}

const SECRET_PARAMS = new Set(['accessKeyId', 'secretAccessKey', 'sessionToken', 'connectionString', 'accountKey', 'sasToken'])

function withoutSecrets(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => !SECRET_PARAMS.has(k)))
}

export function edgeConfigFor(config: MeridianConfig, edge: EdgeDescription): Record<string, unknown> {
  const locations = config.locations.flatMap((l): Array<Record<string, unknown>> => {
    const p = l.params as Record<string, unknown>
    const base = { id: l.id, lat: l.lat, lon: l.lon, serve: l.serve }
    if (l.driver === 'fs') return typeof p.publicUrl === 'string' ? [{ ...base, driver: 'signed-url', params: { publicUrl: p.publicUrl } }] : []
    // Storage credentials stay out: an edge only reads and presigns, so it should hold read-only
    // credentials of its own (added to its copy of this document, or from the environment: the S3
    // SDK's default chain reads AWS_ACCESS_KEY_ID), never the origin's read-write ones.
    if (l.driver === 's3' || l.driver === 'azure') return [{ ...base, driver: l.driver, params: withoutSecrets(p) }]
    return []
  })
  const auth = edge.auth !== undefined ? edge.auth : config.auth.enabled ? authSettingsFor(config, edge.originUrl) : null
  return {
    region: edge.region, home: edge.home,
    origin: { url: edge.originUrl, ...(config.origin.publicUrl ? { publicUrl: config.origin.publicUrl } : {}) },
    locations,
    trustedProxies: edge.trustedProxies ?? [], proxyNetworks: edge.proxyNetworks ?? [],
    presignSeconds: config.origin.presignSeconds,
    adminToken: edge.adminToken ?? null,
    ...(edge.feedWaitSeconds !== undefined ? { feedWaitSeconds: edge.feedWaitSeconds } : {}),
    ...(edge.probeSeconds !== undefined ? { probeSeconds: edge.probeSeconds } : {}),
    auth: auth ? { realm: auth.realm, service: auth.service, issuer: auth.issuer, ...(edge.jwksUrl ? { jwksUrl: edge.jwksUrl } : {}) } : null,
  }
}
