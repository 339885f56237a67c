// Process entry: `tsx origin/main.ts`. Reads the environment (and MERIDIAN_CONFIG), starts the
// origin, and stops cleanly on SIGINT/SIGTERM.

import { loadConfig } from './config/load.ts'
import { ConfigError } from './config/config-error.ts'
import { startOriginServer } from './server.ts'
import { createLogger } from './log.ts'

const log = createLogger({ level: (process.env.MERIDIAN_LOG_LEVEL as 'info') ?? 'info' })
try {
  const { config, warnings } = loadConfig(process.env)
  for (const w of warnings) log.warn('config', { warning: w })
  const origin = await startOriginServer(config, { log })
  log.info('origin listening', { url: origin.url, preference: config.preference })
  const stop = async (signal: string) => {
    log.info('stopping', { signal })
    await origin.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop('SIGINT'))
  process.once('SIGTERM', () => void stop('SIGTERM'))
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  }
  throw err
}
