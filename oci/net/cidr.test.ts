import { describe, expect, it } from 'vitest'
import { CidrError, normalizeAddress, parseCidrList } from './cidr.ts'

describe('CIDR lists', () => {
  const list = parseCidrList(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1', '::ffff:172.16.0.0/108'])

  it('matches IPv4 addresses inside a range and a bare address exactly', () => {
    expect(list.contains('10.200.3.4')).toBe(true)
    expect(list.contains('11.0.0.1')).toBe(false)
    expect(list.contains('192.168.1.7')).toBe(true)
    expect(list.contains('192.168.1.8')).toBe(false)
  })

  it('matches IPv6 ranges and does not confuse the families', () => {
    expect(list.contains('2001:db8:ffff::1')).toBe(true)
    expect(list.contains('2001:db9::1')).toBe(false)
    expect(list.contains('::1')).toBe(true)
    expect(parseCidrList(['0.0.0.0/0']).contains('2001:db8::1')).toBe(false)
    expect(parseCidrList(['::/0']).contains('10.0.0.1')).toBe(false)
  })

  it('treats an IPv4-mapped IPv6 address as the IPv4 address, in the list and in the query', () => {
    expect(list.contains('::ffff:10.1.2.3')).toBe(true)
    expect(list.contains('::FFFF:11.1.2.3')).toBe(false)
    // ::ffff:172.16.0.0/108 is 172.16.0.0/12
    expect(list.contains('172.31.255.255')).toBe(true)
    expect(list.contains('172.32.0.0')).toBe(false)
  })

  it('answers false for null and garbage instead of throwing', () => {
    expect(list.contains(null)).toBe(false)
    expect(list.contains('')).toBe(false)
    expect(list.contains('10.0.0.1; drop table')).toBe(false)
    expect(list.contains('unknown')).toBe(false)
  })

  it('refuses a malformed entry when the list is built', () => {
    expect(() => parseCidrList(['10.0.0.0/33'])).toThrow(CidrError)
    expect(() => parseCidrList(['10.0.0/8'])).toThrow(CidrError)
    expect(() => parseCidrList(['cloudflare'])).toThrow(/not an IP address or CIDR range: "cloudflare"/)
  })
})

describe('normalizeAddress', () => {
  it('drops ports, brackets and zone ids and unmaps IPv4-mapped IPv6', () => {
    expect(normalizeAddress(' 203.0.113.9 ')).toBe('203.0.113.9')
    expect(normalizeAddress('203.0.113.9:51234')).toBe('203.0.113.9')
    expect(normalizeAddress('[2001:DB8::1]:443')).toBe('2001:db8::1')
    expect(normalizeAddress('2001:0db8:0000::0001')).toBe('2001:db8::1')
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1')
    expect(normalizeAddress('::ffff:203.0.113.9')).toBe('203.0.113.9')
  })

  it('refuses shorthand and hex IPv4 spellings and non-addresses', () => {
    for (const text of ['127.1', '0x7f.0.0.1', '010.0.0.1', '1.2.3.4:99999x', '[::1', '1.2.3.4.5', 'unknown', '', '1.2.3.256']) {
      expect(normalizeAddress(text), text).toBeNull()
    }
  })
})
