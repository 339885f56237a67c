// The chain a self-hosted edge (Bun, Deno, Node) runs, in order of precision and trust:
// `request.cf` (only if a Worker-style runtime attached it), location headers from a trusted CDN,
// the client address in the IP database, then the edge's home. Workers use
// `locateChain([cloudflareLocator(), homeLocator(home)])` and need no database.

import { locateChain, type ChainOptions } from './chain.ts'
import { toCidrList, type TrustedProxies } from '../../oci/net/client-address.ts'
import type { Locate } from './locate.ts'
import { cloudflareLocator, homeLocator, trustedHeaderLocator } from './locators.ts'
import { mmdbLocator } from './mmdb-locator.ts'

export interface SelfHostedGeoOptions extends ChainOptions {
  home: { lat: number; lon: number }
  /** Load balancers / CDNs in front of the edge; empty when clients connect directly. */
  trustedProxies?: TrustedProxies
  /** A `.mmdb` file's bytes, or null to locate without an IP database. */
  database: Uint8Array | null
}

export function selfHostedLocate({ home, trustedProxies = [], database, onError }: SelfHostedGeoOptions): Locate {
  const trusted = toCidrList(trustedProxies)
  const locators: Locate[] = [cloudflareLocator(), trustedHeaderLocator({ trustedProxies: trusted })]
  if (database) locators.push(mmdbLocator({ database, trustedProxies: trusted }))
  locators.push(homeLocator(home))
  return locateChain(locators, { onError })
}
