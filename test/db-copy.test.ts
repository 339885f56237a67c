// `npm run db:copy` (scripts/db-copy.ts, db/copy.ts): a SQLite deployment that served real pushes
// moves to PostgreSQL, verified table by table; an origin on the copy serves every image
// byte-identical and keeps pushing (the sequences moved past the copied keys); a copy SIGKILLed
// mid-table resumes and verifies; a target holding other rows is refused or reported.
// Always on a real PostgreSQL, whatever MERIDIAN_TEST_DATABASE says: PostgreSQL is the point.

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase } from '../db/client.ts'
import { createAccount } from '../db/queries/accounts.ts'
import { grantActions } from '../db/queries/grants.ts'
import { setRepositoryPublic } from '../db/queries/visibility.ts'
import { insertRefreshToken } from '../db/queries/refresh-tokens.ts'
import type { MeridianConfig } from '../origin/config/types.ts'
import { startTestOrigin } from './helpers/origin.ts'
import { createDatabase, startPostgres, type PostgresCluster } from './helpers/postgres.ts'
import { fsLocation } from './helpers/replication.ts'
import {
  at, bytesOf, imageManifest, manifestBytes, openUpload, pushImageBlobs, pushManifest, sha256, type Bytes,
} from './helpers/registry-client.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
let cluster: PostgresCluster
const dirs: string[] = []

beforeAll(async () => { cluster = await startPostgres() }, 60_000)
afterAll(async () => {
  await cluster?.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

interface Run { status: number | null; stdout: string; stderr: string }

/** Runs the CLI as its own process (node --import tsx: one process, so a SIGKILL reaches it). */
function dbCopy(args: string[], options: { killOn?: RegExp } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/db-copy.ts', ...args], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: '', NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = '', stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
      if (options.killOn?.test(stderr)) child.kill('SIGKILL')
    })
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

let databases = 0
async function emptyPostgres(): Promise<string> {
  const name = `copy_${++databases}`
  await createDatabase(cluster.url, name)
  return cluster.urlFor(name)
}

async function scalar(url: string, text: string): Promise<number> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return Number(Object.values((await c.query(text)).rows[0])[0])
  } finally {
    await c.end()
  }
}

/** The report's rows: table → [source rows, target rows, verdict]. */
function reportOf(stdout: string): Map<string, { source: number; target: number; ok: boolean }> {
  const out = new Map<string, { source: number; target: number; ok: boolean }>()
  for (const m of stdout.matchAll(/^(\w+)\s+(\d+)\s+(\d+)\s+\d+\s+\S+\s+(ok|MISMATCH)/gm)) {
    out.set(m[1], { source: Number(m[2]), target: Number(m[3]), ok: m[4] === 'ok' })
  }
  return out
}

const twoLocations = (c: MeridianConfig): MeridianConfig => ({ ...c, locations: [fsLocation(c, 'near'), fsLocation(c, 'far')], preference: ['near', 'far'] })

describe('npm run db:copy', () => {
  it('moves a SQLite deployment that served pushes to PostgreSQL, verified, and an origin on the copy pulls every image byte-identical and keeps pushing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-copy-'))
    dirs.push(dataDir)
    const from = `sqlite:${join(dataDir, 'meridian.db')}`
    const pushed: Array<{ name: string; tag: string; manifest: Bytes; blobs: string[] }> = []
    const sqliteOrigin = await startTestOrigin({ dataDir, env: { DATABASE_URL: from }, edit: twoLocations })
    try {
      for (const name of ['team/app', 'team-b/tool.x']) {
        const { config, layers } = await pushImageBlobs(sqliteOrigin.url, name, { layers: 2 })
        const manifest = imageManifest(config, layers)
        await pushManifest(sqliteOrigin.url, name, 'v1', manifest)
        pushed.push({ name, tag: 'v1', manifest: manifestBytes(manifest), blobs: [config, ...layers].map((d) => d.digest) })
      }
      await openUpload(sqliteOrigin.url, 'team/app') // an upload session left open
    } finally {
      await sqliteOrigin.close()
    }
    // The access-control tables, written as the admin CLI would (on the stopped deployment).
    const db = await openDatabase(from)
    const account = await createAccount(db, { name: 'ci+bot', kind: 'robot', secretHash: 'scrypt$x', isAdmin: true })
    await grantActions(db, account.id, 'team/*', ['pull', 'push'])
    await setRepositoryPublic(db, 'team/app', true)
    await insertRefreshToken(db, { tokenHash: 'f'.repeat(64), accountId: account.id, service: 'meridian', clientId: null, expiresAt: Date.now() + 60_000 })
    await closeDatabase(db)

    const to = await emptyPostgres()
    const run = await dbCopy(['--from', from, '--to', to])
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/stop every origin and worker/)
    expect(run.stdout).toMatch(/^Verified: every table has the same rows on both sides/m)
    const report = reportOf(run.stdout)
    for (const table of ['repositories', 'blobs', 'repository_blobs', 'manifests', 'manifest_references', 'tags', 'uploads', 'placements',
      'replication_jobs', 'changes', 'settings', 'accounts', 'grants', 'public_repositories', 'refresh_tokens']) {
      expect(report.get(table)?.source, table).toBeGreaterThan(0)
    }
    for (const [table, r] of report) expect({ table, rows: r.target, ok: r.ok }).toEqual({ table, rows: r.source, ok: true })
    const maxChange = await scalar(to, 'select max(seq) from changes')
    const maxRepository = await scalar(to, 'select max(id) from repositories')

    // The copy, served: the same data directory (its fs locations), the PostgreSQL database.
    const pgOrigin = await startTestOrigin({ dataDir, env: { DATABASE_URL: to }, edit: twoLocations })
    try {
      for (const image of pushed) {
        const res = await fetch(at(pgOrigin.url, `/v2/${image.name}/manifests/${image.tag}`), { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
        expect(res.status).toBe(200)
        expect(Buffer.from(await bytesOf(res)).equals(Buffer.from(image.manifest))).toBe(true)
        for (const digest of image.blobs) {
          const blob = await fetch(at(pgOrigin.url, `/v2/${image.name}/blobs/${digest}`))
          expect(blob.status).toBe(200)
          expect(sha256(await bytesOf(blob))).toBe(digest)
        }
      }
      // New rows take keys after the copied ones (a sequence left at 1 would collide with row 1).
      const { config, layers } = await pushImageBlobs(pgOrigin.url, 'after/copy')
      await pushManifest(pgOrigin.url, 'after/copy', 'v1', imageManifest(config, layers))
      expect(await scalar(to, "select id from repositories where name = 'after/copy'")).toBeGreaterThan(maxRepository)
      expect(await scalar(to, `select count(*) from changes where seq > ${maxChange}`)).toBeGreaterThan(0)
    } finally {
      await pgOrigin.close()
    }
  }, 180_000)

  it('resumes a copy killed mid-table and verifies it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-copy-'))
    dirs.push(dir)
    const from = `sqlite:${join(dir, 'meridian.db')}`
    const db = await openDatabase(from)
    const rows = 40_000
    await db.transaction(async (tx) => {
      for (let i = 0; i < rows; i++) {
        await tx.$execute('insert into changes (kind, repository, payload, at) values (?, ?, ?, ?)',
          ['tag', `team/app${i % 50}`, JSON.stringify({ tag: `v${i}`, digest: sha256(String(i)) }), 1_700_000_000_000 + i], 'run')
      }
    })
    await closeDatabase(db)
    const to = await emptyPostgres()

    const killed = await dbCopy(['--from', from, '--to', to], { killOn: /copy changes/ })
    expect(killed.status).toBe(null) // SIGKILLed
    const partial = await scalar(to, 'select count(*) from changes')
    expect(partial).toBeGreaterThan(0)
    expect(partial).toBeLessThan(rows)

    const rerun = await dbCopy(['--from', from, '--to', to])
    expect(rerun.status, rerun.stderr).toBe(0)
    expect(rerun.stderr).toContain(`changes: resuming after the ${partial} rows an earlier run copied`)
    expect(reportOf(rerun.stdout).get('changes')).toEqual({ source: rows, target: rows, ok: true })
    expect(await scalar(to, "select nextval(pg_get_serial_sequence('changes', 'seq'))")).toBe(rows + 1)
  }, 120_000)

  it('reports a target holding other rows for the same keys, refuses one whose rows collide, and never prints the password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-copy-'))
    dirs.push(dir)
    const from = `sqlite:${join(dir, 'meridian.db')}`
    const db = await openDatabase(from)
    await db.$execute("insert into repositories (name, created_at) values ('team/app', 1)", [], 'run')
    await db.$execute("insert into settings (name, value, created_at) values ('deployment_id', 'source-deployment', 1)", [], 'run')
    await closeDatabase(db)

    // A database an origin already used: its own deployment id under the same key.
    const used = await emptyPostgres()
    const target = await openDatabase(used)
    await target.$execute("insert into settings (name, value, created_at) values ('deployment_id', 'other-deployment', 1)", [], 'run')
    await closeDatabase(target)
    const withPassword = used.replace('postgres@', 'postgres:hunter2@')
    const mismatch = await dbCopy(['--from', from, '--to', withPassword])
    expect(mismatch.status).toBe(1)
    expect(reportOf(mismatch.stdout).get('settings')).toEqual({ source: 1, target: 1, ok: false })
    expect(mismatch.stdout).toMatch(/MISMATCH in settings: .*\n.*copy into an empty PostgreSQL database/)
    expect(mismatch.stdout + mismatch.stderr).not.toContain('hunter2')
    expect(mismatch.stdout).toContain('postgres:***@')

    // Same repository name under another key: refused before anything is claimed verified.
    const collide = await emptyPostgres()
    const other = await openDatabase(collide)
    await other.$execute("insert into repositories (id, name, created_at) values (9, 'team/app', 1)", [], 'run')
    await closeDatabase(other)
    const refused = await dbCopy(['--from', from, '--to', collide])
    expect(refused.status).toBe(1)
    expect(refused.stderr).toMatch(/refused: table repositories: the target already holds different rows .*Copy into an empty PostgreSQL database/)

    const notPostgres = await dbCopy(['--from', from, '--to', 'mysql://root:hunter2@db/meridian'])
    expect(notPostgres.status).toBe(1)
    expect(notPostgres.stderr).toContain('is not PostgreSQL')
    expect(notPostgres.stderr).not.toContain('hunter2')
    const notSqlite = await dbCopy(['--from', collide, '--to', used])
    expect(notSqlite.status).toBe(1)
    expect(notSqlite.stderr).toContain('is not SQLite')
  }, 120_000)
})
