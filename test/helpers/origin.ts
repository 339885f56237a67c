// Starts a real origin (HTTP on 127.0.0.1, SQLite, fs locations) in a temp directory.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../origin/config/load.ts'
import type { MeridianConfig } from '../../origin/config/types.ts'
import { startOriginServer, type OriginServer, type StartOptions } from '../../origin/server.ts'
import { silentLogger, type Logger } from '../../origin/log.ts'

export interface TestOrigin extends OriginServer {
  dataDir: string
  config: MeridianConfig
}

export interface TestOriginOptions {
  /**
   * Passed to loadConfig on top of the data dir and port 0. Access control is off unless this
   * sets MERIDIAN_AUTH (the loader's default is on).
   */
  env?: Record<string, string>
  edit?: (c: MeridianConfig) => MeridianConfig
  log?: Logger
  /**
   * Reuse this data directory (database and locations) instead of a fresh one, e.g. to restart an
   * origin on the state a previous one left. The caller owns it: close() then leaves it in place.
   */
  dataDir?: string
  /** The first admin's login instructions (access control on); default: not shown. */
  print?: (text: string) => void
  /** MERIDIAN_ADMIN_TOKEN for the admin API (default: none, open on loopback). */
  adminToken?: StartOptions['adminToken']
}

export async function startTestOrigin(options: TestOriginOptions = {}): Promise<TestOrigin> {
  const owned = options.dataDir === undefined
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'meridian-test-'))
  let { config } = loadConfig({ MERIDIAN_DATA_DIR: dataDir, MERIDIAN_ORIGIN_PORT: '0', MERIDIAN_AUTH: 'off', ...options.env })
  if (options.edit) config = options.edit(config)
  const server = await startOriginServer(config, {
    log: options.log ?? silentLogger, graceMs: 500, print: options.print ?? (() => {}), adminToken: options.adminToken,
  })
  return {
    ...server, dataDir, config,
    async close() {
      await server.close()
      if (owned) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
