// The test-only MaxMind DB writer, checked against the real reader (mmdb-lib): what the geo tests
// and the loopback geo scenario believe about their database depends on it.
import { Reader } from 'mmdb-lib'
import { describe, expect, it } from 'vitest'
import { writeTestMmdb } from './helpers/mmdb-writer.ts'

function read(db: Uint8Array) {
  return new Reader(Buffer.from(db.buffer, db.byteOffset, db.byteLength))
}

describe('writeTestMmdb', () => {
  it('writes metadata mmdb-lib reads: an IPv6 tree with 24-bit records', () => {
    const { metadata } = read(writeTestMmdb([{ cidr: '127.0.0.2', lat: 1, lon: 2 }]))
    expect(metadata).toMatchObject({ binaryFormatMajorVersion: 2, ipVersion: 6, recordSize: 24, databaseType: 'Meridian-Test-City' })
  })

  it('answers each range with its prefix length, and nothing outside the ranges', () => {
    const reader = read(writeTestMmdb([{ cidr: '198.51.100.0/24', lat: 10, lon: 20 }, { cidr: '2001:db8::/32', country: 'FR' }]))
    expect(reader.getWithPrefixLength('198.51.100.255')).toEqual([{ location: { latitude: 10, longitude: 20 } }, 24])
    expect(reader.getWithPrefixLength('::ffff:198.51.100.1')).toEqual([{ location: { latitude: 10, longitude: 20 } }, 120])
    expect(reader.get('2001:db8:1234::1')).toEqual({ country_code: 'FR' })
    expect(reader.get('198.51.101.0')).toBeNull()
    expect(reader.get('2001:db9::1')).toBeNull()
  })

  it('splits a wider range when a narrower one is written after it', () => {
    const reader = read(writeTestMmdb([{ cidr: '10.0.0.0/8', country: 'US' }, { cidr: '10.1.0.0/16', country: 'DE' }]))
    expect(reader.get('10.1.2.3')).toEqual({ country_code: 'DE' })
    expect(reader.get('10.2.0.1')).toEqual({ country_code: 'US' })
    expect(reader.get('10.255.255.255')).toEqual({ country_code: 'US' })
  })

  it('encodes long strings with the extended size bytes', () => {
    const long = 'x'.repeat(300)
    const reader = read(writeTestMmdb([{ cidr: '192.0.2.1', country: long }, { cidr: '192.0.2.2', country: 'y'.repeat(40) }]))
    expect(reader.get('192.0.2.1')).toEqual({ country_code: long })
    expect(reader.get('192.0.2.2')).toEqual({ country_code: 'y'.repeat(40) })
  })
})
