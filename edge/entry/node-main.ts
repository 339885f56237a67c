// The edge on Node as a process: `node dist/edge.mjs` (or `npx tsx edge/entry/node-main.ts`) with
// MERIDIAN_EDGE_CONFIG naming the edge config (docs/edge.md).

import { edgeSettingsFromEnv } from './env-config.ts'
import { startNodeEdge } from './node.ts'

async function main(): Promise<void> {
  const settings = edgeSettingsFromEnv(process.env)
  const edge = await startNodeEdge(settings, { env: process.env })
  console.error(`meridian edge (${settings.config.region}, Node ${process.versions.node}) listening on ${edge.url}, origin ${settings.config.origin.url}`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void edge.close().then(() => process.exit(0)))
}

main().catch((err: unknown) => {
  console.error(`meridian edge: ${(err as Error).message}`)
  process.exit(1)
})
