// The locators that need no database: Cloudflare's `request.cf`, location headers set by a
// trusted CDN in front of a self-hosted edge, and the edge's own home as the last resort.

import { normalizeAddress } from '../../oci/net/cidr.ts'
import { toCidrList, type TrustedProxies } from '../../oci/net/client-address.ts'
import type { Locate, Position } from './locate.ts'
import { toPosition } from './position.ts'

/** Workers: Cloudflare geolocates the client itself and attaches `request.cf` (latitude and
 * longitude are strings there). Absent on every other runtime, so null there. */
export function cloudflareLocator(): Locate {
  return function locateByCf({ request }) {
    const cf = (request as Request & { cf?: { latitude?: unknown; longitude?: unknown } }).cf
    if (!cf || typeof cf !== 'object') return null
    return toPosition(cf.latitude, cf.longitude, 'cf')
  }
}

/** Location headers a CDN adds, each pair with the source it answers as. */
const LOCATION_HEADERS = [
  // Cloudflare "Add visitor location headers" managed transform.
  { lat: 'cf-iplatitude', lon: 'cf-iplongitude', source: 'header:cloudflare' },
  // CloudFront origin request policy headers.
  { lat: 'cloudfront-viewer-latitude', lon: 'cloudfront-viewer-longitude', source: 'header:cloudfront' },
] as const

export interface TrustedHeaderOptions {
  /** CIDRs (or addresses) of the CDN or load balancer that sets the headers. Empty: never trusted. */
  trustedProxies: TrustedProxies
}

/** A self-hosted edge behind Cloudflare or CloudFront: their location headers, believed only when
 * the TCP peer is one of the trusted proxies. From anyone else they are a client's claim and are
 * ignored, so a client cannot pick the region it is served from. */
export function trustedHeaderLocator({ trustedProxies }: TrustedHeaderOptions): Locate {
  const trusted = toCidrList(trustedProxies)
  return function locateByTrustedHeaders({ request, peer }) {
    if (peer === null || !trusted.contains(normalizeAddress(peer))) return null
    for (const pair of LOCATION_HEADERS) {
      const position = toPosition(request.headers.get(pair.lat), request.headers.get(pair.lon), pair.source)
      if (position) return position
    }
    return null
  }
}

/** The edge's own coordinates: every client is treated as local. Throws on impossible coordinates
 * (a configuration error), since a last resort that answers null would leave the chain empty. */
export function homeLocator(home: { lat: number; lon: number }): Locate {
  const position: Position | null = toPosition(home.lat, home.lon, 'home')
  if (!position) throw new RangeError(`home coordinates out of range: ${home.lat}, ${home.lon}`)
  return () => position
}
