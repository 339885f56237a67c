// The test IP database the geo tests (and the loopback geo scenario) share: loopback and
// documentation addresses placed in the three test regions' cities.

import { writeTestMmdb } from './mmdb-writer.ts'

export const FRANKFURT = { lat: 50.1109, lon: 8.6821 }
export const VIRGINIA = { lat: 38.9586, lon: -77.3570 }
export const SINGAPORE = { lat: 1.3521, lon: 103.8198 }

/** Client addresses and where the test database places them. IPv4 entries answer for their
 * IPv4-mapped IPv6 form (`::ffff:127.0.0.2`) too. */
export const TEST_CLIENTS = {
  frankfurt: { v4: '127.0.0.2', v6: '2001:db8:1::2', ...FRANKFURT },
  virginia: { v4: '127.0.0.3', v6: '2001:db8:2::3', ...VIRGINIA },
  singapore: { v4: '127.0.0.4', v6: '2001:db8:3::4', ...SINGAPORE },
} as const

/** Also: 192.0.2.0/24 (TEST-NET-1) is a country-only record for AU, as a country database has. */
export function testGeoDatabase(): Uint8Array {
  return writeTestMmdb([
    { cidr: '127.0.0.2/32', ...FRANKFURT, country: 'DE' },
    { cidr: '127.0.0.3/32', ...VIRGINIA, country: 'US' },
    { cidr: '127.0.0.4/32', ...SINGAPORE, country: 'SG' },
    { cidr: '2001:db8:1::/48', ...FRANKFURT, country: 'DE' },
    { cidr: '2001:db8:2::/48', ...VIRGINIA, country: 'US' },
    { cidr: '2001:db8:3::/48', ...SINGAPORE, country: 'SG' },
    { cidr: '192.0.2.0/24', country: 'AU' },
  ])
}
