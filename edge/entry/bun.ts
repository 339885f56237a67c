// The edge on Bun, one command: `MERIDIAN_EDGE_CONFIG=edge.json npx bun edge/entry/bun.ts`.
// Bun runs the TypeScript as is; the region index is a bun:sqlite file, the server Bun.serve, and
// the TCP peer comes from Hono's Bun adapter (server.requestIP). Settings: env-config.ts.

import { getConnInfo } from 'hono/bun'
import process from 'node:process'
import { openBunStore } from './bun-store.ts'
import { exitOnError, listenUrl, listeningLine, openSelfHostedEdge } from './self-hosted.ts'

/** The part of Bun's global the entry uses (bun-types is not loaded in the Node type environment). */
declare const Bun: {
  version: string
  serve(options: {
    hostname: string
    port: number
    fetch(request: Request, server: unknown): Response | Promise<Response>
  }): { port: number; stop(closeActiveConnections?: boolean): Promise<void> }
}

async function main(): Promise<void> {
  const { edge, settings } = await openSelfHostedEdge(process.env, {
    openStore: openBunStore,
    peer: (c) => getConnInfo(c).remote.address ?? null,
  })
  // Hono's Bun adapter finds the server in the second argument of fetch (getConnInfo needs it).
  const server = Bun.serve({ hostname: settings.host, port: settings.port, fetch: (request, bunServer) => edge.app.fetch(request, bunServer) })
  console.error(listeningLine(settings, `Bun ${Bun.version}`, listenUrl(settings.host, server.port)))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.stop(true).then(() => edge.close()).then(() => process.exit(0)))
  }
}

main().catch(exitOnError)
