// Starts a real origin (HTTP on 127.0.0.1, SQLite, fs locations) in a temp directory.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../origin/config/load.ts'
import type { MeridianConfig } from '../../origin/config/types.ts'
import { startOriginServer, type OriginServer } from '../../origin/server.ts'
import { silentLogger, type Logger } from '../../origin/log.ts'

export interface TestOrigin extends OriginServer {
  dataDir: string
  config: MeridianConfig
}

/** `env` is passed to loadConfig on top of a fresh data dir and port 0. */
export async function startTestOrigin(options: { env?: Record<string, string>; edit?: (c: MeridianConfig) => MeridianConfig; log?: Logger } = {}): Promise<TestOrigin> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meridian-test-'))
  let { config } = loadConfig({ MERIDIAN_DATA_DIR: dataDir, MERIDIAN_ORIGIN_PORT: '0', ...options.env })
  if (options.edit) config = options.edit(config)
  const server = await startOriginServer(config, { log: options.log ?? silentLogger })
  return {
    ...server, dataDir, config,
    async close() {
      await server.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
