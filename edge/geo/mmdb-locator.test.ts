import { describe, expect, it } from 'vitest'
import { FRANKFURT, SINGAPORE, TEST_CLIENTS, VIRGINIA, testGeoDatabase } from '../../test/helpers/test-geo-db.ts'
import { writeTestMmdb } from '../../test/helpers/mmdb-writer.ts'
import { COUNTRY_CENTROIDS } from './country-centroids.ts'
import type { LocateInput } from './locate.ts'
import { mmdbLocator } from './mmdb-locator.ts'
import { selfHostedLocate } from './self-hosted.ts'

const PROXY = '10.0.0.0/8'
const database = testGeoDatabase()

function input(peer: string | null, headers: Record<string, string> = {}): LocateInput {
  return { request: new Request('http://edge.test/v2/', { headers }), peer }
}

describe('mmdbLocator over a MaxMind-format database (read by mmdb-lib)', () => {
  const locate = mmdbLocator({ database, trustedProxies: [PROXY] })

  it('places each test client at its city by IPv4 peer address', async () => {
    expect(await locate(input(TEST_CLIENTS.frankfurt.v4))).toEqual({ ...FRANKFURT, source: 'mmdb' })
    expect(await locate(input(TEST_CLIENTS.virginia.v4))).toEqual({ ...VIRGINIA, source: 'mmdb' })
    expect(await locate(input(TEST_CLIENTS.singapore.v4))).toEqual({ ...SINGAPORE, source: 'mmdb' })
  })

  it('places IPv6 and IPv4-mapped IPv6 peers', async () => {
    expect(await locate(input(TEST_CLIENTS.singapore.v6))).toEqual({ ...SINGAPORE, source: 'mmdb' })
    expect(await locate(input('2001:db8:2:ffff::1'))).toEqual({ ...VIRGINIA, source: 'mmdb' })
    expect(await locate(input('::ffff:127.0.0.2'))).toEqual({ ...FRANKFURT, source: 'mmdb' })
  })

  it('looks up the X-Forwarded-For client behind a trusted proxy, never a spoofed entry', async () => {
    const forwarded = input('10.0.0.5', { 'x-forwarded-for': `${TEST_CLIENTS.frankfurt.v4}, ${TEST_CLIENTS.virginia.v4}` })
    expect(await locate(forwarded)).toEqual({ ...VIRGINIA, source: 'mmdb' })
    // From an untrusted peer the header is ignored: the peer itself is looked up.
    const spoofed = input(TEST_CLIENTS.singapore.v4, { 'x-forwarded-for': TEST_CLIENTS.frankfurt.v4 })
    expect(await locate(spoofed)).toEqual({ ...SINGAPORE, source: 'mmdb' })
  })

  it('answers a country-only record with the country centre', async () => {
    const [lat, lon] = COUNTRY_CENTROIDS.AU!
    expect(await locate(input('192.0.2.77'))).toEqual({ lat, lon, source: 'mmdb' })
    const own = mmdbLocator({ database, centroids: { AU: [-33.87, 151.21] } })
    expect(await own(input('192.0.2.77'))).toEqual({ lat: -33.87, lon: 151.21, source: 'mmdb' })
  })

  it('is null for an address the database does not hold, an unknown country, or no peer', async () => {
    expect(await locate(input('127.0.0.9'))).toBeNull()
    expect(await locate(input('2001:db8:9::1'))).toBeNull()
    expect(await locate(input(null))).toBeNull()
    const unknownCountry = mmdbLocator({ database: writeTestMmdb([{ cidr: '192.0.2.0/24', country: 'XX' }]) })
    expect(await unknownCountry(input('192.0.2.1'))).toBeNull()
  })

  it('reads a database given as a view into a larger buffer, and refuses a corrupt one', async () => {
    const padded = new Uint8Array(database.byteLength + 8)
    padded.set(database, 4)
    const view = mmdbLocator({ database: padded.subarray(4, 4 + database.byteLength) })
    expect(await view(input(TEST_CLIENTS.frankfurt.v4))).toEqual({ ...FRANKFURT, source: 'mmdb' })
    expect(() => mmdbLocator({ database: new Uint8Array(64) })).toThrow()
  })
})

describe('selfHostedLocate', () => {
  const locate = selfHostedLocate({ home: { lat: 0, lon: 0 }, trustedProxies: [PROXY], database })

  it('prefers trusted CDN headers, then the IP database, then home', async () => {
    const headers = { 'cf-iplatitude': '1.3521', 'cf-iplongitude': '103.8198' }
    expect((await locate(input('10.0.0.5', { ...headers, 'x-forwarded-for': '127.0.0.2' })))?.source).toBe('header:cloudflare')
    expect(await locate(input('127.0.0.2', headers))).toEqual({ ...FRANKFURT, source: 'mmdb' })
    expect(await locate(input('198.51.100.7', headers))).toEqual({ lat: 0, lon: 0, source: 'home' })
  })

  it('goes straight to home without a database', async () => {
    const noDb = selfHostedLocate({ home: { lat: 0, lon: 0 }, database: null })
    expect((await noDb(input('127.0.0.2')))?.source).toBe('home')
  })
})
