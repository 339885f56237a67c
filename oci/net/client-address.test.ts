import { describe, expect, it } from 'vitest'
import { clientAddress } from './client-address.ts'

const PROXIES = ['10.0.0.0/8', '2001:db8:ffff::/48']

function input(peer: string | null, xff?: string | string[]) {
  const headers = new Headers()
  for (const value of [xff ?? []].flat()) headers.append('x-forwarded-for', value)
  return { request: new Request('http://edge.test/v2/', { headers }), peer }
}

describe('clientAddress', () => {
  it('is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientAddress(input('198.51.100.7', '203.0.113.1'), PROXIES)).toBe('198.51.100.7')
    expect(clientAddress(input('198.51.100.7', '203.0.113.1'), [])).toBe('198.51.100.7')
  })

  it('is the right-most untrusted X-Forwarded-For entry behind a trusted proxy', () => {
    expect(clientAddress(input('10.0.0.5', '203.0.113.1'), PROXIES)).toBe('203.0.113.1')
    // Two of our proxies in a row: both skipped.
    expect(clientAddress(input('10.0.0.5', '203.0.113.1, 10.9.9.9'), PROXIES)).toBe('203.0.113.1')
  })

  it('ignores spoofed left-most entries a client wrote itself', () => {
    // The client sent "X-Forwarded-For: 127.0.0.2, 10.1.1.1"; our proxy appended the real address.
    const request = input('10.0.0.5', '127.0.0.2, 10.1.1.1, 198.51.100.7, 10.9.9.9')
    expect(clientAddress(request, PROXIES)).toBe('198.51.100.7')
  })

  it('reads several X-Forwarded-For headers as one list, in order', () => {
    expect(clientAddress(input('10.0.0.5', ['198.51.100.1', '203.0.113.1, 10.2.2.2']), PROXIES)).toBe('203.0.113.1')
  })

  it('stops at an unparsable entry and answers the last address walked', () => {
    expect(clientAddress(input('10.0.0.5', 'evil, 10.3.3.3'), PROXIES)).toBe('10.3.3.3')
    expect(clientAddress(input('10.0.0.5', 'unknown'), PROXIES)).toBe('10.0.0.5')
  })

  it('answers the left-most address when every entry is a trusted proxy, the peer with no header', () => {
    expect(clientAddress(input('10.0.0.5', '10.7.7.7, 10.8.8.8'), PROXIES)).toBe('10.7.7.7')
    expect(clientAddress(input('10.0.0.5'), PROXIES)).toBe('10.0.0.5')
  })

  it('handles IPv6 peers and entries, ports, and IPv4-mapped peers', () => {
    expect(clientAddress(input('2001:db8:ffff::9', '[2001:db8:1::2]:5000'), PROXIES)).toBe('2001:db8:1::2')
    expect(clientAddress(input('::ffff:10.0.0.5', '203.0.113.1:4431'), PROXIES)).toBe('203.0.113.1')
    expect(clientAddress(input('::ffff:198.51.100.7'), PROXIES)).toBe('198.51.100.7')
  })

  it('is null without a peer (Workers) or with an unparsable one', () => {
    expect(clientAddress(input(null, '203.0.113.1'), PROXIES)).toBeNull()
    expect(clientAddress(input('not-an-ip', '203.0.113.1'), PROXIES)).toBeNull()
  })
})
