// Node side of geolocation: finding and reading the `.mmdb` file. The portable locators take its
// bytes (edge/geo/mmdb-locator.ts); only reading a file is Node's business.

import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'

/** The database shipped as an npm dependency: @ip-location-db/geo-whois-asn-country-mmdb (IPv4 and
 * IPv6, country codes; package CC0-1.0, data CC BY 4.0 by the NRO, see README "Geolocation"). */
export const DEFAULT_MMDB = '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb'

export function defaultMmdbPath(): string {
  return createRequire(import.meta.url).resolve(DEFAULT_MMDB)
}

/** Where the IP database comes from: `MERIDIAN_GEO_MMDB` names a `.mmdb` file (GeoLite2-City,
 * DB-IP City Lite, ...), `none` turns the IP database off, unset means the shipped default. */
export function mmdbPathFromEnv(env: Record<string, string | undefined>): string | null {
  const configured = env.MERIDIAN_GEO_MMDB?.trim()
  if (configured === 'none') return null
  return configured ? configured : defaultMmdbPath()
}

/** The database bytes for selfHostedLocate/mmdbLocator, or null when turned off. Throws if the
 * configured file is missing: a typo must not silently downgrade every client to `home`. */
export async function loadGeoDatabase(env: Record<string, string | undefined>): Promise<Uint8Array | null> {
  const path = mmdbPathFromEnv(env)
  return path === null ? null : await readFile(path)
}
