// Wires config → database → locations → app → HTTP server. Used by origin/main.ts, `npm start`
// and the end-to-end tests, so all three run the same registry.

import { serve } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { openDatabase, closeDatabase, type Db } from '../db/client.ts'
import type { MeridianConfig } from './config/types.ts'
import { createOriginApp, type OriginDeps } from './app.ts'
import { createLocationSet, type EngineFactory, type LocationSet } from './locations.ts'
import { createNativeHasher } from './hasher.ts'
import { createLogger, type Logger } from './log.ts'
import { replicationPolicy } from './replication/policy.ts'

export interface OriginServer {
  url: string
  db: Db
  locations: LocationSet
  deps: OriginDeps
  close(): Promise<void>
}

export async function startOriginServer(config: MeridianConfig, options: { log?: Logger; createEngine?: EngineFactory } = {}): Promise<OriginServer> {
  const log = options.log ?? createLogger()
  const db = openDatabase(config.databaseUrl)
  const locations = createLocationSet(config.locations, config.preference, { createEngine: options.createEngine })
  const policy = replicationPolicy(db, config)
  const deps: OriginDeps = {
    db, locations, log,
    createHasher: createNativeHasher,
    deleteEnabled: config.origin.deleteEnabled,
    replicationTargets: policy.targets,
    mayWrite: policy.mayWrite,
  }
  const app = createOriginApp(deps)
  const server = await new Promise<Server>((resolve) => {
    const s = serve({
      fetch: app.fetch, hostname: config.origin.host, port: config.origin.port,
      // Layer uploads can take long on slow links: no whole-request timeout (Node's default is 5 min).
      serverOptions: { requestTimeout: 0 },
    }, () => resolve(s as Server))
  })
  const { port } = server.address() as AddressInfo
  const host = config.origin.host.includes(':') ? `[${config.origin.host}]` : config.origin.host
  const url = `http://${host}:${port}`
  return {
    url, db, locations, deps,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections?.()
      await locations.close()
      closeDatabase(db)
    },
  }
}
