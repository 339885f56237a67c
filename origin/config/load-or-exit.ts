// For process entry points (origin, worker, npm start, the scripts): load the configuration, or
// print every problem and exit with status 2. Warnings go to the given callback.

import { loadConfig } from './load.ts'
import { ConfigError } from './config-error.ts'
import type { MeridianConfig } from './types.ts'

export function loadConfigOrExit(env: Record<string, string | undefined>, onWarning: (warning: string) => void = () => {}): MeridianConfig {
  try {
    const { config, warnings } = loadConfig(env)
    for (const w of warnings) onWarning(w)
    return config
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  }
}
