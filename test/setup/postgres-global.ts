// vitest globalSetup: with MERIDIAN_TEST_DATABASE=postgres, one throwaway PostgreSQL cluster for
// the whole run (test/helpers/postgres.ts), with a migrated template database every test copies
// (test/helpers/test-database.ts). Without the switch it does nothing.

import { closeDatabase, openDatabase } from '../../db/client.ts'
import { createDatabase, startPostgres, type PostgresCluster } from '../helpers/postgres.ts'
import { TEMPLATE_DATABASE } from '../helpers/test-database.ts'

let cluster: PostgresCluster | null = null

export async function setup(): Promise<void> {
  if (process.env.MERIDIAN_TEST_DATABASE !== 'postgres') return
  cluster = await startPostgres()
  await createDatabase(cluster.url, TEMPLATE_DATABASE)
  await closeDatabase(await openDatabase(cluster.urlFor(TEMPLATE_DATABASE)))
  // Test workers are forked after this: they inherit the URL.
  process.env.MERIDIAN_TEST_POSTGRES_URL = cluster.url
}

export async function teardown(): Promise<void> {
  await cluster?.stop()
}
