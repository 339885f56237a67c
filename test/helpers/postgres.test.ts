// The throwaway cluster every PostgreSQL test stands on (MERIDIAN_TEST_DATABASE=postgres,
// db/executor.test.ts): it must listen only on 127.0.0.1, copy a template with its rows, and leave
// no server or data directory behind when stopped.

import { existsSync } from 'node:fs'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createDatabase, postgresBin, startPostgres } from './postgres.ts'

async function query<T>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return (await c.query(text)).rows as T[]
  } finally {
    await c.end()
  }
}

describe('startPostgres', () => {
  it('finds the installed binaries (.ci/run installs Debian\'s postgresql)', () => {
    expect(postgresBin()).toMatch(/\/bin$/)
  })

  it('starts a loopback-only server, makes databases from a template, and leaves nothing when stopped', async () => {
    const cluster = await startPostgres()
    let stopped = false
    try {
      expect(cluster.url).toBe(`postgres://postgres@127.0.0.1:${cluster.port}/postgres`)
      const [settings] = await query<{ listen_addresses: string; fsync: string }>(cluster.url, 'select current_setting(\'listen_addresses\') as listen_addresses, current_setting(\'fsync\') as fsync')
      expect(settings).toEqual({ listen_addresses: '127.0.0.1', fsync: 'off' })

      await createDatabase(cluster.url, 'tpl')
      await query(cluster.urlFor('tpl'), 'create table t (v int); insert into t values (1), (2)')
      await createDatabase(cluster.url, 'copy', 'tpl')
      expect(await query(cluster.urlFor('copy'), 'select v from t order by v')).toEqual([{ v: 1 }, { v: 2 }])
      // A copy is its own database: writes to it do not reach the template.
      await query(cluster.urlFor('copy'), 'insert into t values (3)')
      expect(await query(cluster.urlFor('tpl'), 'select count(*)::int as n from t')).toEqual([{ n: 2 }])

      const dataDir = (await query<{ d: string }>(cluster.url, 'select current_setting(\'data_directory\') as d'))[0].d
      await cluster.stop()
      stopped = true
      expect(cluster.child.exitCode ?? cluster.child.signalCode).not.toBeNull()
      expect(existsSync(dataDir)).toBe(false)
      await expect(query(cluster.url, 'select 1')).rejects.toThrow()
    } finally {
      if (!stopped) await cluster.stop()
    }
  })
})
