// `npm run admin` (scripts/admin.ts) against a real database in a data directory: most commands
// through runAdmin (the script's body), and the script itself spawned twice, as an operator runs it.

import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase, type Db } from '../../db/client.ts'
import { accountByName } from '../../db/queries/accounts.ts'
import { isRepositoryPublic } from '../../db/queries/visibility.ts'
import { verifySecret } from '../../origin/auth/passwords.ts'
import { runAdmin } from '../../scripts/admin.ts'
import { changes } from '../../db/schema.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

let dataDir: string
let databaseUrl: string
let db: Db

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'meridian-admin-cli-'))
  databaseUrl = await testDatabaseUrl(dataDir)
  db = await openDatabase(databaseUrl)
})

afterEach(async () => {
  await closeDatabase(db)
  rmSync(dataDir, { recursive: true, force: true })
})

async function admin(args: string, stdin = ''): Promise<{ status: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const status = await runAdmin(args.split(' ').filter(Boolean), {
    db, tokenSeconds: 300, out: (t) => { out += t }, err: (t) => { err += t }, readStdin: async () => stdin,
  })
  return { status, out, err }
}

const secretOf = (out: string) => /secret \(shown once, store it now\): (\S+)/.exec(out)?.[1]

describe('npm run admin', () => {
  it('creates a user with a generated password, shown once, stored only as a hash', async () => {
    const created = await admin('user create alice --admin')
    expect(created).toMatchObject({ status: 0, err: '' })
    const password = secretOf(created.out)!
    expect(password.length).toBeGreaterThanOrEqual(32)
    const row = (await accountByName(db, 'alice'))!
    expect(row).toMatchObject({ kind: 'user', isAdmin: true, disabled: false })
    expect(row.secretHash).toMatch(/^scrypt\$/)
    expect(row.secretHash).not.toContain(password)
    expect(await verifySecret(password, row.secretHash)).toBe(true)
    // Listing never shows it again.
    expect((await admin('list --json')).out).not.toContain(password)
  })

  it('takes a password from stdin without echoing it, and refuses a short one', async () => {
    const created = await admin('user create bob --password-stdin', 'correct horse battery\n')
    expect(created).toEqual({ status: 0, out: 'created user bob\n', err: '' })
    expect(await verifySecret('correct horse battery', (await accountByName(db, 'bob'))!.secretHash)).toBe(true)
    const short = await admin('user passwd bob --password-stdin', 'short\n')
    expect(short.status).toBe(1)
    expect(short.err).toContain('a password needs 8 to 1024 characters')
    const reset = await admin('user passwd bob')
    expect(await verifySecret(secretOf(reset.out)!, (await accountByName(db, 'bob'))!.secretHash)).toBe(true)
  })

  it('creates robots as <namespace>+<name> with a random 32-byte secret', async () => {
    const created = await admin('robot create team ci')
    expect(created.status).toBe(0)
    expect(created.out).toContain('created robot team+ci')
    expect(secretOf(created.out)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(await accountByName(db, 'team+ci')).toMatchObject({ kind: 'robot', isAdmin: false })
    expect((await admin('robot create team ci')).err).toContain('an account named "team+ci" exists')
    expect((await admin('robot create Team ci')).status).toBe(1)
    expect((await admin('user create team+x')).status).toBe(1)
  })

  it('grants, lists and revokes', async () => {
    await admin('robot create team ci')
    expect(await admin('grant team+ci team/* pull,push')).toMatchObject({ status: 0, out: 'team+ci may now pull,push on team/*\n' })
    expect((await admin('grant team+ci other/app pull')).status).toBe(0)
    // A grant replaces the actions on its target.
    await admin('grant team+ci other/app push,pull,delete')
    const listed = await admin('list')
    expect(listed.out).toBe('team+ci (robot)\n  other/app: pull,push,delete\n  team/*: pull,push\npublic repositories: none\n')
    expect(await admin('revoke team+ci other/app')).toMatchObject({ status: 0 })
    expect((await admin('revoke team+ci other/app')).status).toBe(1)
    const json = JSON.parse((await admin('list --json')).out) as { accounts: Array<{ name: string; grants: unknown[] }> }
    expect(json.accounts[0]!.grants).toEqual([{ target: 'team/*', actions: ['pull', 'push'] }])
  })

  it('refuses bad grants with clear messages and status 1', async () => {
    await admin('user create carol')
    const cases: Array<[string, string]> = [
      ['grant carol team/app fly', 'unknown action fly'],
      ['grant carol Team/App pull', 'a grant target is a repository'],
      ['grant carol team/** pull', 'a grant target is a repository'],
      ['grant nobody team/app pull', 'no account named "nobody"'],
    ]
    for (const [args, message] of cases) {
      const result = await admin(args)
      expect(result.status, args).toBe(1)
      expect(result.err, args).toContain(message)
    }
  })

  it('makes repositories public and private, each flip in the change log', async () => {
    expect(await admin('public team/app')).toMatchObject({ status: 0, out: 'team/app is public\n' })
    expect((await admin('public team/app')).out).toBe('team/app is public (it already was)\n')
    expect(await isRepositoryPublic(db, 'team/app')).toBe(true)
    expect((await admin('list')).out).toContain('public repositories: team/app')
    await admin('private team/app')
    expect(await isRepositoryPublic(db, 'team/app')).toBe(false)
    expect((await db.select().from(changes).all()).filter((c) => c.kind === 'repository.visibility').map((c) => c.payload)).toEqual(['{"public":true}', '{"public":false}'])
    expect((await admin('public ../etc')).status).toBe(1)
  })

  it('disables, enables and deletes, but keeps one enabled admin', async () => {
    await admin('user create root --admin')
    await admin('user create dave')
    expect((await admin('user disable dave')).status).toBe(0)
    expect((await accountByName(db, 'dave'))!.disabled).toBe(true)
    await admin('user enable dave')
    expect((await accountByName(db, 'dave'))!.disabled).toBe(false)
    const last = await admin('user disable root')
    expect(last.status).toBe(1)
    expect(last.err).toContain('"root" is the last enabled admin')
    expect((await admin('user delete root')).status).toBe(1)
    expect(await admin('user delete dave')).toMatchObject({ status: 0, out: 'deleted dave and its grants\n' })
    expect(await accountByName(db, 'dave')).toBeNull()
  })

  it('rotates the signing key', async () => {
    const first = await admin('rotate-key')
    expect(first.out).toMatch(/^new signing key \S+/)
    const second = await admin('rotate-key')
    const kid = /^new signing key (\S+?)[;\n]/.exec(first.out)![1]!
    expect(second.out).toContain(`; ${kid} verifies until its last token expires`)
  })

  it('answers usage errors with status 2', async () => {
    for (const args of ['', 'frobnicate', 'user create', 'user create a b', 'grant a b', 'user create eve --bogus', 'robot make team ci']) {
      const result = await admin(args)
      expect(result.status, args).toBe(2)
    }
  })
})

describe('scripts/admin.ts as a process', () => {
  it('works on the database of MERIDIAN_DATA_DIR, with exit status 0 and 1', async () => {
    const run = (args: string[], input?: string) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', ...args], {
        cwd: ROOT, env: { ...process.env, MERIDIAN_DATA_DIR: dataDir, MERIDIAN_CONFIG: '', DATABASE_URL: databaseUrl }, timeout: 30_000,
      }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }))
      child.stdin!.end(input ?? '')
    })
    const made = await run(['user', 'create', 'frank', '--password-stdin'], 'a long enough password\n')
    expect(made).toMatchObject({ code: 0, stdout: 'created user frank\n' })
    expect(await verifySecret('a long enough password', (await accountByName(db, 'frank'))!.secretHash)).toBe(true)
    const refused = await run(['grant', 'nobody', 'team/app', 'pull'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('refused: no account named "nobody"')
  }, 60_000)
})
