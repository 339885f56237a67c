// Process entry: `npm run origin` (the bundle dist/origin.mjs). Reads the environment (and
// MERIDIAN_CONFIG), starts the origin, and stops cleanly on SIGINT/SIGTERM.

import { loadConfigOrExit } from './config/load-or-exit.ts'
import { startOriginServer } from './server.ts'
import { createLogger } from './log.ts'

const log = createLogger({ level: (process.env.MERIDIAN_LOG_LEVEL as 'info' | undefined) ?? 'info' })
const config = loadConfigOrExit(process.env, (warning) => log.warn('config', { warning }))
const origin = await startOriginServer(config, { log })
log.info('origin listening', { url: origin.url, preference: config.preference })
const stop = async (signal: string) => {
  log.info('stopping', { signal })
  await origin.close()
  process.exit(0)
}
process.once('SIGINT', () => void stop('SIGINT'))
process.once('SIGTERM', () => void stop('SIGTERM'))
