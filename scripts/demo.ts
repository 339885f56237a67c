// `npm start`: the whole registry on one machine with embedded defaults: SQLite and three
// local-disk locations under ./data (MERIDIAN_DATA_DIR), the origin on 127.0.0.1:5000
// (MERIDIAN_ORIGIN_PORT) with the replication worker in-process, and a Node edge beside it on
// 127.0.0.1:8080 (MERIDIAN_EDGE_PORT) following the origin with its own region index.
//
// So that the edge shows real per-region redirects, every local-disk location without a public
// URL gets the origin's own URL (signed URLs, README "Redirects to local disk") and is redirected
// to; the edge trusts location headers from loopback, so `curl -H` can play a client anywhere.

import { writeFileSync, mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { loadConfigOrExit } from '../origin/config/load-or-exit.ts'
import type { MeridianConfig } from '../origin/config/types.ts'
import { edgeConfigFor } from '../origin/edge-config.ts'
import { startOriginServer } from '../origin/server.ts'
import { createLogger } from '../origin/log.ts'
import { resolveUrlSigningKey } from '../origin/url-signing-key.ts'
import { parseEdgeConfig } from '../edge/config.ts'
import { startNodeEdge } from '../edge/entry/node.ts'

const log = createLogger({ level: (process.env.MERIDIAN_LOG_LEVEL as 'info' | undefined) ?? 'info' })
const loaded = loadConfigOrExit(process.env, (warning) => log.warn('config', { warning }))
const originPort = loaded.origin.port || await freePort(loaded.origin.host)
const originUrl = loaded.origin.publicUrl ?? `http://${hostOf(loaded.origin.host)}:${originPort}`
const config = redirectable({ ...loaded, origin: { ...loaded.origin, port: originPort } }, originUrl)
const origin = await startOriginServer(config, { log })
const hostPort = origin.url.replace(/^http:\/\//, '')

// The edge: its config is what an operator would deploy (origin/edge-config.ts), written out.
const edgePort = Number(process.env.MERIDIAN_EDGE_PORT ?? 8080)
const first = config.locations.find((l) => l.id === config.preference[0]) ?? config.locations[0]!
const edgeConfig = edgeConfigFor(config, {
  region: 'local', home: { lat: first.lat, lon: first.lon }, originUrl: origin.url,
  trustedProxies: ['127.0.0.1', '::1'],
})
mkdirSync(config.dataDir, { recursive: true })
const edgeConfigFile = join(config.dataDir, 'edge-local.json')
writeFileSync(edgeConfigFile, JSON.stringify(edgeConfig, null, 2) + '\n', { mode: 0o600 })
const edge = await startNodeEdge({
  config: parseEdgeConfig(edgeConfig), host: process.env.MERIDIAN_EDGE_HOST ?? '127.0.0.1', port: edgePort,
  indexPath: join(config.dataDir, 'edge-local.sqlite'), urlSigningKey: await resolveUrlSigningKey(config),
}).catch(async (err: unknown) => {
  await origin.close()
  throw err
})
const edgeHostPort = edge.url.replace(/^http:\/\//, '')

const blob = `${edge.url}/v2/demo/app/blobs/$DIGEST`
process.stdout.write([
  '',
  `Meridian origin: ${origin.url}`,
  `  data:        ${config.dataDir}`,
  `  locations:   ${config.locations.map((l) => `${l.id} (${l.driver}, ${l.serve})`).join(', ')}`,
  `  preference:  ${config.preference.join(' > ')}`,
  `  replication: ${config.replication.enabled ? 'on, worker in this process' : 'off'}`,
  `  metrics:     ${origin.url}/metrics   admin: ${origin.url}/admin/replication/backlog`,
  `Meridian edge:   ${edge.url} (region index ${join(config.dataDir, 'edge-local.sqlite')}, config ${edgeConfigFile})`,
  `  status:      ${edge.url}/_meridian/edge/status   metrics: ${edge.url}/metrics`,
  '',
  ...(config.auth.enabled
    ? [
      'Access control is on (MERIDIAN_AUTH=off switches it off; docs/access-control.md). Log in to both first, e.g.:',
      `  skopeo login --tls-verify=false -u admin --password-stdin ${hostPort} < ${join(config.dataDir, 'admin-password')}`,
      `  skopeo login --tls-verify=false -u admin --password-stdin ${edgeHostPort} < ${join(config.dataDir, 'admin-password')}`,
      'The curl lines below ask anonymously: make the repository public first (npm run admin -- private demo/app undoes it):',
      '  npm run admin -- public demo/app',
    ]
    : []),
  `Push with any client, e.g.: skopeo copy --dest-tls-verify=false oci:./my-image:latest docker://${hostPort}/demo/app:latest`,
  `Pull through the edge:      skopeo copy --src-tls-verify=false docker://${edgeHostPort}/demo/app:latest oci:./pulled:latest`,
  'See a blob redirected to the nearest location (a CDN\'s location headers, trusted from loopback):',
  `  DIGEST=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' ${edge.url}/v2/demo/app/manifests/latest | grep -o 'sha256:[0-9a-f]*' | tail -1)`,
  ...config.locations.map((l) => `  curl -si -H 'CloudFront-Viewer-Latitude: ${l.lat}' -H 'CloudFront-Viewer-Longitude: ${l.lon}' ${blob} | grep -i -e '^location' -e '^meridian-served-from'`),
  '',
].join('\n') + '\n')

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await edge.close()
  await origin.close()
  process.exit(0)
}
process.once('SIGINT', () => void stop())
process.once('SIGTERM', () => void stop())

/** Local-disk locations without a public URL get the origin's and are redirected to. */
function redirectable(c: MeridianConfig, url: string): MeridianConfig {
  return {
    ...c,
    locations: c.locations.map((l) => (l.driver === 'fs' && typeof l.params.publicUrl !== 'string' ? { ...l, serve: 'redirect' as const, params: { ...l.params, publicUrl: url } } : l)),
  }
}

function hostOf(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** A port free now: the origin must know its URL (the locations' public URL) before it listens. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
