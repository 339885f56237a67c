// An offline IP database for self-hosted edges: the client address looked up in a MaxMind-format
// `.mmdb` with mmdb-lib. City databases (GeoLite2-City, DB-IP City Lite) carry coordinates; country
// databases (the default @ip-location-db one, GeoLite2-Country) carry a country code, answered with
// that country's centre. Import this file only where mmdb-lib can load (see mmdb-buffer.ts).

import { Reader } from 'mmdb-lib'
import { parseAddress } from '../../oci/net/cidr.ts'
import { clientAddress, toCidrList, type TrustedProxies } from '../../oci/net/client-address.ts'
import { COUNTRY_CENTROIDS } from './country-centroids.ts'
import type { Locate, Position } from './locate.ts'
import { asNodeBuffer } from './mmdb-buffer.ts'
import { toPosition } from './position.ts'

export interface MmdbLocatorOptions {
  /** The whole `.mmdb` file. Kept in memory and read in place (mmdb-lib does not copy it). */
  database: Uint8Array
  /** Proxies whose `X-Forwarded-For` is believed (see clientAddress). */
  trustedProxies?: TrustedProxies
  /** ISO 3166-1 alpha-2 code → [lat, lon], for country-only databases. */
  centroids?: Readonly<Record<string, readonly [number, number]>>
}

/** The fields of the record shapes this reads; every one is optional in practice. */
interface GeoRecord {
  location?: { latitude?: unknown; longitude?: unknown }
  latitude?: unknown
  longitude?: unknown
  country?: { iso_code?: unknown }
  registered_country?: { iso_code?: unknown }
  country_code?: unknown
}

/** Throws if the database cannot be parsed (mmdb-lib's error), so a bad file fails at start-up. */
export function mmdbLocator({ database, trustedProxies = [], centroids = COUNTRY_CENTROIDS }: MmdbLocatorOptions): Locate {
  // mmdb-lib's record types are MaxMind's own; the other vendors' shapes are read as GeoRecord.
  const reader = new Reader(asNodeBuffer(database) as ConstructorParameters<typeof Reader>[0], {
    cache: boundedCache(10_000),
  })
  const ipv4Only = reader.metadata.ipVersion === 4
  const trusted = toCidrList(trustedProxies)
  return function locateByMmdb(input) {
    const address = clientAddress(input, trusted)
    if (address === null) return null
    // An IPv4-only tree walked with 128 bits would answer for the address's first 32 bits.
    if (ipv4Only && parseAddress(address)?.kind() !== 'ipv4') return null
    const record = reader.get(address) as GeoRecord | null
    return record ? recordPosition(record, centroids) : null
  }
}

function recordPosition(record: GeoRecord, centroids: MmdbLocatorOptions['centroids'] & object): Position | null {
  const precise =
    toPosition(record.location?.latitude, record.location?.longitude, 'mmdb') ??
    toPosition(record.latitude, record.longitude, 'mmdb')
  if (precise) return precise
  const code = [record.country_code, record.country?.iso_code, record.registered_country?.iso_code].find(
    (value): value is string => typeof value === 'string',
  )
  const centre = code === undefined ? undefined : centroids[code.toUpperCase()]
  return centre ? { lat: centre[0], lon: centre[1], source: 'mmdb' } : null
}

/** mmdb-lib's decoded-record cache, keyed by data offset: a country database has a few hundred
 * distinct records, so nearly every lookup skips decoding. Emptied when full, to stay bounded. */
function boundedCache(limit: number) {
  const records = new Map<string | number, unknown>()
  return {
    get: (key: string | number) => records.get(key),
    set(key: string | number, value: unknown) {
      if (records.size >= limit) records.clear()
      records.set(key, value)
    },
  }
}
