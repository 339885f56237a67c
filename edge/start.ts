// Assembles a running edge from its config and what the runtime provides (a SqlStore, the IP
// database's bytes, how to find the TCP peer): the region index, the feed follower, the locator
// chain and the app. Every entry (edge/entry/*) calls this; only serving HTTP is theirs.

import type { Context, Hono } from 'hono'
import type { SqlStore } from './index/sql-store.ts'
import { createSqlIndex, type SqlIndex } from './index/sql-index.ts'
import { followFeed, type Follower } from './index/follow.ts'
import { selfHostedLocate } from './geo/self-hosted.ts'
import { parseCidrList } from './geo/cidr.ts'
import { clientAddress } from './geo/client-address.ts'
import { createEdgeApp } from './app.ts'
import { createEdgeEngine } from './engines.ts'
import type { EdgeConfig } from './config.ts'
import { describeError, type Logger } from '../storage/log.ts'

export interface EdgeRuntime {
  store: SqlStore
  /** A `.mmdb` file's bytes, or null (Workers use request.cf instead). */
  geoDatabase: Uint8Array | null
  /** The deployment's URL signing key, for signed-url (local-disk) locations. */
  urlSigningKey: string | null
  peer?: (c: Context) => string | null
  log: Logger
  /** Keep the index in step with a long-polling follower (self-hosted); Workers sync by cron. */
  follow: boolean
  fetch?: typeof fetch
  /** How locations reached over HTTP are read when proxied; the runtime's fetch otherwise. */
  engineFetch?: typeof fetch
  /** Manifests larger than this stay out of the index (the origin answers them): D1 caps a row at 2 MB. */
  maxManifestBytes?: number
  /** How often the origin's JWKS may be fetched again (tests shorten the 30 s floor and 10 min age). */
  jwksRefresh?: { minRefreshMs?: number; maxAgeMs?: number }
}

export interface RunningEdge {
  app: Hono
  index: SqlIndex
  close(): Promise<void>
}

export async function openEdge(config: EdgeConfig, runtime: EdgeRuntime): Promise<RunningEdge> {
  const { log } = runtime
  const index = await createSqlIndex(runtime.store, { maxManifestBytes: runtime.maxManifestBytes })
  const locations = config.locations.map((l) => ({
    id: l.id, lat: l.lat, lon: l.lon, serve: l.serve,
    engine: createEdgeEngine(l, { urlSigningKey: runtime.urlSigningKey, presignSeconds: config.presignSeconds, fetch: runtime.engineFetch }),
  }))
  // Parsed once: the locators and the proxy-network check consult them on every blob GET.
  const trustedProxies = parseCidrList(config.trustedProxies)
  const locate = selfHostedLocate({
    home: config.home, trustedProxies, database: runtime.geoDatabase,
    onError: (err) => log.warn('locator failed', { error: describeError(err) }),
  })
  const proxyNetworks = parseCidrList(config.proxyNetworks)
  const app = createEdgeApp({
    model: index,
    indexStatus: () => index.status(),
    origin: { url: config.origin.url, publicUrl: config.origin.publicUrl, fetch: runtime.fetch },
    locations, locate,
    home: { ...config.home, source: 'home' },
    peer: runtime.peer,
    mustProxy: config.proxyNetworks.length === 0 ? undefined : (input) => {
      const address = clientAddress(input, trustedProxies)
      return address !== null && proxyNetworks.contains(address)
    },
    presignSeconds: config.presignSeconds,
    originHealth: () => index.locationHealth(),
    probeIntervalMs: config.probeSeconds * 1000,
    staleAfterSeconds: config.staleAfterSeconds,
    log,
    adminToken: config.adminToken,
    auth: config.auth
      ? {
        settings: { realm: config.auth.realm, service: config.auth.service, issuer: config.auth.issuer },
        jwksUrl: config.auth.jwksUrl,
        isPublic: (repository) => index.isPublic(repository),
        jwksMinRefreshMs: runtime.jwksRefresh?.minRefreshMs,
        jwksMaxAgeMs: runtime.jwksRefresh?.maxAgeMs,
      }
      : null,
  })
  const follower: Follower | null = runtime.follow
    ? followFeed({
      index, originUrl: config.origin.url, token: config.origin.token ?? '', fetch: runtime.fetch, waitSeconds: config.feedWaitSeconds,
      log: (msg, fields) => log.info(msg, { region: config.region, ...fields }),
      onError: (err) => log.warn('region index could not follow the origin; retrying', { region: config.region, error: describeError(err) }),
    })
    : null
  return {
    app, index,
    async close() {
      await follower?.stop()
      await runtime.store.close?.()
    },
  }
}
