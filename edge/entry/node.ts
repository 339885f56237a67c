// The edge on Node: `node dist/edge.mjs` (or `tsx edge/entry/node.ts`) with MERIDIAN_EDGE_CONFIG.
// The region index is a better-sqlite3 file; the HTTP server is @hono/node-server.

import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { pathToFileURL } from 'node:url'
import { openEdge, type RunningEdge } from '../start.ts'
import { createLogger, type Logger } from '../../storage/log.ts'
import { loadGeoDatabase } from './geo-node.ts'
import { openNodeStore } from './node-store.ts'
import { edgeSettingsFromEnv, type Env, type SelfHostedSettings } from './env-config.ts'

export interface NodeEdge extends RunningEdge {
  url: string
}

export async function startNodeEdge(settings: SelfHostedSettings, options: { env?: Env; log?: Logger; geoDatabase?: Uint8Array | null } = {}): Promise<NodeEdge> {
  const log = options.log ?? createLogger({ base: { edge: settings.config.region } })
  if (settings.indexPath !== ':memory:') mkdirSync(dirname(settings.indexPath), { recursive: true })
  const edge = await openEdge(settings.config, {
    store: openNodeStore(settings.indexPath),
    geoDatabase: options.geoDatabase !== undefined ? options.geoDatabase : await loadGeoDatabase(options.env ?? process.env),
    urlSigningKey: settings.urlSigningKey,
    peer: (c) => getConnInfo(c).remote.address ?? null,
    log, follow: true,
  })
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: edge.app.fetch, hostname: settings.host, port: settings.port }, () => resolve(s as Server))
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

async function main(): Promise<void> {
  const settings = edgeSettingsFromEnv(process.env)
  const edge = await startNodeEdge(settings, { env: process.env })
  console.error(`meridian edge (${settings.config.region}, Node ${process.versions.node}) listening on ${edge.url}, origin ${settings.config.origin.url}`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void edge.close().then(() => process.exit(0)))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`meridian edge: ${(err as Error).message}`)
    process.exit(1)
  })
}
