// The edge on Deno, one command (deno.json at the repo root holds the flags' reasons):
//   MERIDIAN_EDGE_CONFIG=edge.json npx deno run --allow-all --node-modules-dir=manual edge/entry/deno.ts
// `--node-modules-dir=manual` makes Deno resolve npm packages from the node_modules that npm
// installed (no download, works offline). The region index is a node:sqlite file (Deno's built-in
// SQLite), the server Deno.serve, and the TCP peer comes from Hono's Deno adapter.

import { getConnInfo } from 'hono/deno'
import process from 'node:process'
import { openDenoStore } from './deno-store.ts'
import { exitOnError, listenUrl, listeningLine, openSelfHostedEdge } from './self-hosted.ts'

/** The part of Deno's global the entry uses (Deno's types are not loaded in the Node environment). */
declare const Deno: {
  version: { deno: string }
  serve(
    options: { hostname: string; port: number; onListen(addr: { hostname: string; port: number }): void },
    handler: (request: Request, info: unknown) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> }
}

async function main(): Promise<void> {
  const { edge, settings } = await openSelfHostedEdge(process.env, {
    openStore: openDenoStore,
    peer: (c) => getConnInfo(c).remote.address ?? null,
  })
  // Hono's Deno adapter reads the peer from the handler's second argument (info.remoteAddr).
  const server = Deno.serve({
    hostname: settings.host, port: settings.port,
    onListen: ({ port }) => console.error(listeningLine(settings, `Deno ${Deno.version.deno}`, listenUrl(settings.host, port))),
  }, (request, info) => edge.app.fetch(request, info))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.shutdown().then(() => edge.close()).then(() => process.exit(0)))
  }
}

main().catch(exitOnError)
