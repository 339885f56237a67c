// The edge on Node (started by edge/entry/node-main.ts, `npm start`, and the tests).
// The region index is a better-sqlite3 file; the HTTP server is @hono/node-server.

import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { openEdge, type EdgeRuntime, type RunningEdge } from '../start.ts'
import { createLogger, type Logger } from '../../storage/log.ts'
import { loadGeoDatabase } from './geo-node.ts'
import { openNodeStore } from './node-store.ts'
import type { Env, SelfHostedSettings } from './env-config.ts'
import { nodeFetch } from './node-fetch.ts'
import { sendPiped } from './node-send.ts'

export interface NodeEdge extends RunningEdge {
  url: string
}

export interface NodeEdgeOptions {
  env?: Env
  log?: Logger
  geoDatabase?: Uint8Array | null
  /** JWKS refresh limits (tests; edge/start.ts EdgeRuntime). */
  jwksRefresh?: EdgeRuntime['jwksRefresh']
}

export async function startNodeEdge(settings: SelfHostedSettings, options: NodeEdgeOptions = {}): Promise<NodeEdge> {
  const log = options.log ?? createLogger({ base: { edge: settings.config.region } })
  if (settings.indexPath !== ':memory:') mkdirSync(dirname(settings.indexPath), { recursive: true })
  const edge = await openEdge(settings.config, {
    store: openNodeStore(settings.indexPath),
    geoDatabase: options.geoDatabase !== undefined ? options.geoDatabase : await loadGeoDatabase(options.env ?? process.env),
    urlSigningKey: settings.urlSigningKey,
    peer: (c) => getConnInfo(c).remote.address ?? null,
    log, follow: true,
    // Proxied bytes from a signed-url location are piped socket to socket (node-fetch.ts, node-send.ts).
    engineFetch: nodeFetch,
    ...(options.jwksRefresh ? { jwksRefresh: options.jwksRefresh } : {}),
  })
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({
      fetch: async (request, env: { outgoing?: unknown }) => sendPiped(await edge.app.fetch(request, env), env.outgoing),
      hostname: settings.host, port: settings.port,
    }, () => resolve(s as Server))
    s.once('error', reject)
  }).catch(async (err: unknown) => {
    await edge.close()
    throw err
  })
  const { port } = server.address() as AddressInfo
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host
  return {
    ...edge,
    url: `http://${host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections?.()
      })
      await edge.close()
    },
  }
}
