// Starts a real origin (HTTP on 127.0.0.1, fs locations) in a temp directory, on the test run's
// database engine (test/helpers/test-database.ts): SQLite in the data directory by default, a
// fresh PostgreSQL database with MERIDIAN_TEST_DATABASE=postgres.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../origin/config/load.ts'
import type { MeridianConfig } from '../../origin/config/types.ts'
import { startOriginServer, type OriginServer, type StartOptions } from '../../origin/server.ts'
import { silentLogger, type Logger } from '../../origin/log.ts'
import { testDatabaseUrl } from './test-database.ts'

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
   * The database is the one the first origin on this directory used (databaseFor).
   */
  dataDir?: string
  /** The first admin's login instructions (access control on); default: not shown. */
  print?: (text: string) => void
  /** MERIDIAN_ADMIN_TOKEN for the admin API (default: none, open on loopback). */
  adminToken?: StartOptions['adminToken']
}

// A data directory's database URL, so an origin restarted on the directory (or a script run on it)
// finds the rows the first one wrote: on PostgreSQL each testDatabaseUrl() call is a new database.
const databases = new Map<string, Promise<string>>()

/** The database of the test data directory `dataDir`: made on the first call, the same one after. */
export function databaseFor(dataDir: string): Promise<string> {
  let url = databases.get(dataDir)
  if (!url) databases.set(dataDir, url = testDatabaseUrl(dataDir))
  return url
}

export async function startTestOrigin(options: TestOriginOptions = {}): Promise<TestOrigin> {
  const owned = options.dataDir === undefined
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'meridian-test-'))
  const DATABASE_URL = options.env?.DATABASE_URL ?? await databaseFor(dataDir)
  let { config } = loadConfig({ MERIDIAN_DATA_DIR: dataDir, MERIDIAN_ORIGIN_PORT: '0', MERIDIAN_AUTH: 'off', ...options.env, DATABASE_URL })
  if (options.edit) config = options.edit(config)
  const server = await startOriginServer(config, {
    log: options.log ?? silentLogger, graceMs: 500, print: options.print ?? (() => {}), adminToken: options.adminToken,
  })
  return {
    ...server, dataDir, config,
    async close() {
      await server.close()
      if (owned) {
        databases.delete(dataDir)
        rmSync(dataDir, { recursive: true, force: true })
      }
    },
  }
}
