// Lost write permission as it really happens: the origin runs as an unprivileged user (`nobody`,
// via setpriv) and the preferred location's directory loses its write bit, so the kernel answers
// EACCES (the other suites run as root, which mode bits do not stop: they use chattr's EPERM).
// Pushes fall back and are counted, pulls and placements survive, the location comes back when
// the permission is restored. README "Storage faults and location health".

import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { sql, type SQL } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase, type Db } from '../../db/client.ts'
import { loadConfig } from '../../origin/config/load.ts'
import { fastRetries, fsLocation } from '../helpers/replication.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'
import { expectPull, metric, pushMixedImage, type PushedImage } from './storage-fault-kit.ts'

const NOBODY = 65534
const canSetuid = process.platform === 'linux' && process.getuid?.() === 0

describe.skipIf(!canSetuid)('lost write permission (EACCES) under an unprivileged origin', () => {
  let base: string
  let child: ChildProcess
  let url: string
  let stderr = ''
  // The origin's database, opened a second time by the test (root) to read placements and jobs.
  let db: Db

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'meridian-faults-eacces-'))
    chmodSync(base, 0o755)
    for (const dir of ['data', 'a', 'b']) {
      mkdirSync(join(base, dir))
      chownSync(join(base, dir), NOBODY, NOBODY)
    }
    const databaseUrl = await testDatabaseUrl(join(base, 'data'))
    let { config } = loadConfig({ MERIDIAN_DATA_DIR: join(base, 'data'), MERIDIAN_ORIGIN_PORT: '0', MERIDIAN_AUTH: 'off', DATABASE_URL: databaseUrl })
    config = fastRetries({
      ...config,
      locations: ['a', 'b'].map((id, i) => ({ ...fsLocation(config, id, { lat: i * 10, lon: 0 }), params: { root: join(base, id, 'registry') } })),
      preference: ['a', 'b'],
    }, { maxAttempts: 1000 })
    writeFileSync(join(base, 'config.json'), JSON.stringify(config))
    child = spawn('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '--import', 'tsx', 'test/faults/unprivileged-origin.ts', join(base, 'config.json')], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: base },
    })
    child.stderr!.on('data', (d) => { stderr += String(d) })
    url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve)
      child.once('exit', (code) => reject(new Error(`origin exited (${code}): ${stderr}`)))
    })
    // After the origin made (and migrated) it: on SQLite its files then belong to nobody.
    db = await openDatabase(databaseUrl)
  }, 30_000)

  afterAll(async () => {
    if (db) await closeDatabase(db)
    if (child && child.exitCode === null) {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    }
    if (base) rmSync(base, { recursive: true, force: true })
  })

  const present = async (digest: string) =>
    (await db.$all<{ location: string }>(sql`select location from placements where digest = ${digest} and state = 'present' order by location`)).map((r) => r.location)
  const count = async (query: SQL) => Number((await db.$all<{ n: number }>(query))[0]!.n)
  const digestsOf = (images: PushedImage[]) => images.flatMap((i) => [i.manifest.digest, ...i.blobs.map((b) => b.digest)])
  async function replicated(): Promise<void> {
    await expect.poll(() => count(sql`select count(*) as n from replication_jobs where state in ('pending', 'running')`), { timeout: 20_000 }).toBe(0)
  }

  it('falls back while the preferred location answers EACCES, and comes back when the permission is restored', async () => {
    const before = await pushMixedImage(url, 'faults/eacces', 'before')
    await replicated()
    const tmp = join(base, 'a', 'registry', '.tmp')
    chmodSync(tmp, 0o555)
    try {
      const during = [await pushMixedImage(url, 'faults/eacces', 'd1'), await pushMixedImage(url, 'faults/eacces', 'd2')]
      for (const image of [before, ...during]) await expectPull(url, image)
      for (const digest of digestsOf(during)) expect(await present(digest), digest).toEqual(['b'])
      expect(await metric(url, 'meridian_push_fallback_total{preferred="a",used="b"}')).toBe(8)
      expect(await metric(url, 'meridian_location_up{location="a"}')).toBe(0)
      expect(await metric(url, 'meridian_location_readable{location="a"}')).toBe(1)
      expect(stderr).toMatch(/EACCES/)
    } finally {
      chmodSync(tmp, 0o755)
    }
    // Marked down for a second (locationDownSeconds), then the next push probes it again.
    await new Promise((r) => setTimeout(r, 1200))
    const after = await pushMixedImage(url, 'faults/eacces', 'after')
    for (const digest of digestsOf([after])) expect(await present(digest)).toContain('a')
    await replicated()
    expect(await count(sql`select count(*) as n from placements where state <> 'present'`)).toBe(0)
    expect(await metric(url, 'meridian_location_up{location="a"}')).toBe(1)
  }, 120_000)
})
