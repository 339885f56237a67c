// Addresses and CIDR ranges for the trusted-proxy checks and the IP database lookup. Parsing is
// ipaddr.js (the parser Express's proxy-addr uses: portable, no Node built-ins); this file adds the
// two rules the geo code relies on: an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack
// Node socket reports for an IPv4 peer) is the IPv4 address, and anything unparsable is null.

import ipaddr from 'ipaddr.js'

type Parsed = ipaddr.IPv4 | ipaddr.IPv6

/** A configuration value that is not a CIDR or an address: thrown when the list is built, so a
 * typo in the trusted-proxy list fails at start-up instead of silently trusting nobody. */
export class CidrError extends Error {
  readonly value: string
  constructor(value: string) {
    super(`not an IP address or CIDR range: ${JSON.stringify(value)}`)
    this.name = 'CidrError'
    this.value = value
  }
}

// Dotted-quad IPv4 without leading zeros ("010.0.0.1" is octal to some parsers: refused). The
// common case, parsed without ipaddr.js's general (and ~20x slower) parser.
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`)

/** Parses an address as it arrives from a socket or a header: surrounding whitespace, `[v6]`
 * brackets, a `:port` suffix and a zone id (`fe80::1%eth0`) are dropped; IPv4-mapped IPv6 becomes
 * IPv4. Null when it is not an address (shorthand IPv4 such as "127.1" included). */
export function parseAddress(text: string): Parsed | null {
  let value = text.trim()
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value)
  if (bracketed) value = bracketed[1]!
  else if (/^[\d.]+:\d+$/.test(value)) value = value.slice(0, value.lastIndexOf(':'))
  const quad = DOTTED_QUAD.exec(value)
  if (quad) return new ipaddr.IPv4(quad.slice(1, 5).map(Number))
  if (!value.includes(':')) return null
  let parsed: ipaddr.IPv6
  try {
    parsed = ipaddr.IPv6.parse(value.replace(/%[\w.-]+$/, ''))
  } catch {
    return null
  }
  return parsed.isIPv4MappedAddress() ? parsed.toIPv4Address() : parsed
}

/** The canonical text of an address (IPv4 dotted quad, IPv6 RFC 5952), or null if unparsable. */
export function normalizeAddress(text: string): string | null {
  const parsed = parseAddress(text)
  if (!parsed) return null
  return parsed.kind() === 'ipv4' ? parsed.toString() : (parsed as ipaddr.IPv6).toRFC5952String()
}

export interface CidrList {
  /** True when the address lies inside one of the ranges; false for null or unparsable input. */
  contains(address: string | null): boolean
  readonly size: number
}

/** Builds a list from CIDRs (`10.0.0.0/8`, `2001:db8::/32`, `::ffff:10.0.0.0/104`) and bare
 * addresses (a /32 or /128). Throws CidrError on anything else. */
export function parseCidrList(entries: readonly string[]): CidrList {
  const ranges = entries.map(parseRange)
  return {
    size: ranges.length,
    contains(address) {
      if (address === null) return false
      const parsed = parseAddress(address)
      if (!parsed) return false
      return ranges.some(([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits))
    },
  }
}

function parseRange(entry: string): [Parsed, number] {
  const [text, bitsText, extra] = entry.trim().split('/')
  const address = parseAddress(text!)
  if (!address || extra !== undefined || (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText))) {
    throw new CidrError(entry)
  }
  // `::ffff:10.0.0.0/104` is the IPv4 range 10.0.0.0/8 (parseAddress unmapped the address).
  const mapped = address.kind() === 'ipv4' && text!.includes(':')
  const max = address.kind() === 'ipv4' ? 32 : 128
  const bits = bitsText === undefined ? max : Number(bitsText) - (mapped ? 96 : 0)
  if (bits < 0 || bits > max) throw new CidrError(entry)
  return [address, bits]
}
