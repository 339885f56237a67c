// `npm start`: the whole registry on one machine with embedded defaults: SQLite and three
// local-disk locations under ./data (MERIDIAN_DATA_DIR), the origin on 127.0.0.1:5000
// (MERIDIAN_ORIGIN_PORT) with the replication worker in-process.

import { loadConfigOrExit } from '../origin/config/load-or-exit.ts'
import { startOriginServer } from '../origin/server.ts'
import { createLogger } from '../origin/log.ts'

const log = createLogger({ level: (process.env.MERIDIAN_LOG_LEVEL as 'info' | undefined) ?? 'info' })
const config = loadConfigOrExit(process.env, (warning) => log.warn('config', { warning }))
const origin = await startOriginServer(config, { log })
const hostPort = origin.url.replace(/^http:\/\//, '')
process.stdout.write([
  '',
  `Meridian origin: ${origin.url}`,
  `  data:        ${config.dataDir}`,
  `  locations:   ${config.locations.map((l) => `${l.id} (${l.driver})`).join(', ')}`,
  `  preference:  ${config.preference.join(' > ')}`,
  `  replication: ${config.replication.enabled ? 'on, worker in this process' : 'off'}`,
  `  metrics:     ${origin.url}/metrics   admin: ${origin.url}/admin/replication/backlog`,
  '',
  `Push with any client, e.g.: skopeo copy --dest-tls-verify=false oci:./my-image:latest docker://${hostPort}/demo/app:latest`,
  '',
].join('\n') + '\n')
const stop = async () => {
  await origin.close()
  process.exit(0)
}
process.once('SIGINT', () => void stop())
process.once('SIGTERM', () => void stop())
