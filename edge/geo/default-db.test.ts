// The IP database shipped from npm (@ip-location-db/geo-whois-asn-country-mmdb), read from
// node_modules the way the Node entry does.
import { describe, expect, it } from 'vitest'
import { defaultMmdbPath, loadGeoDatabase, mmdbPathFromEnv } from '../entry/geo-node.ts'
import { distanceKm } from '../../storage/distance.ts'
import { COUNTRY_CENTROIDS } from './country-centroids.ts'
import { mmdbLocator } from './mmdb-locator.ts'

function at(peer: string) {
  return { request: new Request('http://edge.test/v2/'), peer }
}

describe('the default country database', async () => {
  const database = await loadGeoDatabase({})
  const locate = mmdbLocator({ database: database! })

  it('places well-known public resolvers in their country, at its centre', async () => {
    const [usLat, usLon] = COUNTRY_CENTROIDS.US!
    // Google Public DNS: US (IPv4 and IPv6).
    expect(await locate(at('8.8.8.8'))).toEqual({ lat: usLat, lon: usLon, source: 'mmdb' })
    expect(await locate(at('2001:4860:4860::8888'))).toEqual({ lat: usLat, lon: usLon, source: 'mmdb' })
    // heise.de's address block is German: the centre of Germany is within 300 km of Frankfurt.
    const de = await locate(at('193.99.144.80'))
    expect(distanceKm(de!, { lat: 50.11, lon: 8.68 })).toBeLessThan(300)
  })

  it('does not place loopback addresses', async () => {
    // (It does place the IPv6 documentation prefix 2001:db8::/32, in JP: one of the data bugs the
    // package's own README warns of. Clients never come from there.)
    expect(await locate(at('127.0.0.2'))).toBeNull()
    expect(await locate(at('10.1.2.3'))).toBeNull()
  })

  it('is chosen by MERIDIAN_GEO_MMDB: unset is the default, a path is the operator file, none is off', async () => {
    expect(mmdbPathFromEnv({})).toBe(defaultMmdbPath())
    expect(mmdbPathFromEnv({ MERIDIAN_GEO_MMDB: '/srv/GeoLite2-City.mmdb' })).toBe('/srv/GeoLite2-City.mmdb')
    expect(await loadGeoDatabase({ MERIDIAN_GEO_MMDB: 'none' })).toBeNull()
    await expect(loadGeoDatabase({ MERIDIAN_GEO_MMDB: '/nonexistent/geo.mmdb' })).rejects.toThrow(/ENOENT/)
  })
})
