// The client's address at the origin, for the failed-login limit: the TCP peer, or, when the peer
// is a trusted proxy (config origin.trustedProxies: the edges, a load balancer), the address its
// X-Forwarded-For names (oci/net/client-address.ts walks it from the right). Without this every
// login forwarded through an edge would count against the edge's address, and one client's
// failures would lock out everyone behind it.

import type { Context } from 'hono'
import { getConnInfo } from '@hono/node-server/conninfo'
import { parseCidrList } from '../../oci/net/cidr.ts'
import { clientAddress } from '../../oci/net/client-address.ts'

export function clientAddressOf(trustedProxies: readonly string[]): (c: Context) => string {
  const trusted = parseCidrList(trustedProxies)
  return function addressOf(c) {
    let peer: string | null = null
    try {
      peer = getConnInfo(c).remote.address ?? null
    } catch {
      peer = null // app.request() in tests: no socket
    }
    return clientAddress({ request: c.req.raw, peer }, trusted) ?? 'unknown'
  }
}
