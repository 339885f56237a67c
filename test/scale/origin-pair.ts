// Two origins on one database and one pair of storage locations, as the seed's deployment model
// runs them (a machine per region, each preferring its region's storage): origin A prefers
// eu-west, origin B prefers us-east, and both locations are replicated to by default.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LocationConfig, MeridianConfig } from '../../origin/config/types.ts'
import type { Logger } from '../../origin/log.ts'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'

export const EU = 'eu-west'
export const US = 'us-east'

export interface OriginPair {
  /** Prefers eu-west. */
  a: TestOrigin
  /** Prefers us-east. */
  b: TestOrigin
  databaseUrl: string
  close(): Promise<void>
}

export interface PairOptions {
  /** Run a replication worker inside origin A's (B's) server. Default true. */
  workerA?: boolean
  workerB?: boolean
  /** Both origins' log (default: silent). */
  log?: Logger
}

/** An fs location whose directory both origins share (storage is shared, like a bucket). */
function sharedLocation(root: string, id: string): LocationConfig {
  return { id, driver: 'fs', params: { root: join(root, id) }, lat: 0, lon: 0, replicateByDefault: true, serve: 'proxy', readOnly: false }
}

export async function startOriginPair(options: PairOptions = {}): Promise<OriginPair> {
  const shared = mkdtempSync(join(tmpdir(), 'meridian-pair-'))
  // Once: on PostgreSQL every testDatabaseUrl() call is a new database.
  const databaseUrl = await testDatabaseUrl(shared)
  const start = (preference: string, worker: boolean) => startTestOrigin({
    // The preference goes through the variable each origin instance reads for itself.
    log: options.log,
    env: { DATABASE_URL: databaseUrl, MERIDIAN_STORAGE_PREFERENCE: preference },
    edit: (c: MeridianConfig) => ({
      ...c,
      locations: [sharedLocation(join(shared, 'locations'), EU), sharedLocation(join(shared, 'locations'), US)],
      preference: c.preference.filter((id) => id === EU || id === US),
      replication: { ...c.replication, workerInProcess: worker },
    }),
  })
  const a = await start(`${EU},${US}`, options.workerA ?? true)
  const b = await start(`${US},${EU}`, options.workerB ?? true).catch(async (err: unknown) => { await a.close(); throw err })
  return {
    a, b, databaseUrl,
    async close() {
      await Promise.allSettled([a.close(), b.close()])
      rmSync(shared, { recursive: true, force: true })
    },
  }
}
