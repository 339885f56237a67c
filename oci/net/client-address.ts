// Which address the request came from. The TCP peer is the only fact; `X-Forwarded-For` is a
// claim anyone can write, believed only as far as it was appended by proxies we trust. Shared by
// the edge (geolocation) and the origin (the failed-login limit behind edges and load balancers).

import { normalizeAddress, parseCidrList, type CidrList } from './cidr.ts'

/** A request and its TCP peer's address (null where the runtime reports none). */
export interface AddressedRequest {
  request: Request
  peer: string | null
}

/** A list of trusted proxies: CIDR strings (parsed here, CidrError on a bad one) or a built list. */
export type TrustedProxies = readonly string[] | CidrList

export function toCidrList(trusted: TrustedProxies): CidrList {
  return 'contains' in trusted ? trusted : parseCidrList(trusted)
}

/**
 * The client's address, normalized (`::ffff:1.2.3.4` → `1.2.3.4`), or null when the runtime
 * reports no peer (Workers: use `request.cf` there) or the peer is unparsable.
 *
 * An untrusted peer is the client, whatever its headers say. A trusted peer (our load balancer)
 * forwarded the request, so walk `X-Forwarded-For` from the right, past every trusted proxy, and
 * answer the first address that is not one: entries to its left were written by the client and
 * are ignored. If every entry is trusted, the left-most is the answer (nginx's real_ip_recursive);
 * if an unparsable entry is reached, the last address walked is (garbage is a client's writing).
 */
export function clientAddress(input: AddressedRequest, trustedProxies: TrustedProxies): string | null {
  const peer = input.peer === null ? null : normalizeAddress(input.peer)
  if (peer === null) return null
  const trusted = toCidrList(trustedProxies)
  if (!trusted.contains(peer)) return peer
  // Several X-Forwarded-For headers are one list (RFC 9110 §5.3); Headers.get joins them with ", ".
  const hops = (input.request.headers.get('x-forwarded-for') ?? '').split(',')
  let answer = peer
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim()
    if (hop === '') continue
    const address = normalizeAddress(hop)
    if (address === null) return answer
    answer = address
    if (!trusted.contains(address)) return address
  }
  return answer
}
