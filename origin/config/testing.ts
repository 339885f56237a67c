// Helpers for the configuration tests: load from an in-memory file, collect a ConfigError's list.

import { loadConfig } from './load.ts'
import { ConfigError } from './config-error.ts'
import type { LoadedConfig } from './types.ts'

export const TEST_DATA_DIR = '/srv/meridian'
const FILE = '/etc/meridian.yaml'

/** loadConfig with MERIDIAN_DATA_DIR set and, unless yaml is null, MERIDIAN_CONFIG on that text. */
export function loadYaml(yaml: string | null, env: Record<string, string | undefined> = {}): LoadedConfig {
  const fileEnv = yaml === null ? {} : { MERIDIAN_CONFIG: FILE }
  return loadConfig({ MERIDIAN_DATA_DIR: TEST_DATA_DIR, ...fileEnv, ...env }, {
    readFile: (path) => {
      if (path !== FILE || yaml === null) throw new Error(`ENOENT: ${path}`)
      return yaml
    },
  })
}

export function problemsOf(fn: () => unknown): string[] {
  try {
    fn()
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError, nothing was thrown')
}
