// The first start with access control on: the admin account, its password file (0600, written
// once, never logged or printed), the login instructions on stdout; nothing of it with auth off.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { accountByName, listAccounts } from '../../db/queries/accounts.ts'
import { verifySecret } from '../../origin/auth/passwords.ts'
import { createLogger } from '../../origin/log.ts'
import { startTestOrigin } from '../helpers/origin.ts'
import { adminCall, startAuthOrigin, tokenFor } from './origin-client.ts'

let dataDir: string

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'meridian-bootstrap-'))
})

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true })
})

/** A logger that keeps every line it would have written, at debug level. */
function capturingLogger() {
  const lines: string[] = []
  return { lines, log: createLogger({ level: 'debug', write: (line) => lines.push(line) }) }
}

describe('first start with access control on', () => {
  it('makes "admin" with a password written once to <dataDir>/admin-password, mode 0600, never logged', async () => {
    const { lines, log } = capturingLogger()
    let printed = ''
    const origin = await startAuthOrigin({ dataDir, log, print: (t) => { printed += t } })
    try {
      const file = join(dataDir, 'admin-password')
      expect(statSync(file).mode & 0o777).toBe(0o600)
      const password = readFileSync(file, 'utf8').trim()
      expect(password.length).toBeGreaterThanOrEqual(32)
      const admin = (await accountByName(origin.db, 'admin'))!
      expect(admin).toMatchObject({ kind: 'user', isAdmin: true, disabled: false })
      expect(await verifySecret(password, admin.secretHash)).toBe(true)

      // Instructions on stdout, with the file, not the password.
      const host = new URL(origin.url).host
      expect(printed).toContain(`skopeo login --tls-verify=false -u admin --password-stdin ${host} < ${file}`)
      expect(printed).toContain(`podman login --tls-verify=false -u admin --password-stdin ${host} <`)
      expect(printed).toContain(`docker login -u admin --password-stdin ${host} <`)
      expect(printed).not.toContain(password)

      // The password works: a token for admin, then the admin API with that token.
      const token = await tokenFor(origin, ['repository:any/thing:pull', 'registry:admin:*'], { user: 'admin', secret: password })
      expect((await adminCall(origin, 'GET', '/accounts', undefined, `Bearer ${token}`)).status).toBe(200)

      expect(lines.some((l) => l.includes('made the first admin account'))).toBe(true)
      for (const line of lines) {
        expect(line).not.toContain(password)
        expect(line).not.toContain(admin.secretHash)
        expect(line).not.toContain(token)
      }
    } finally {
      await origin.close()
    }
  })

  it('does it once: a restart leaves the file and the account alone and prints nothing', async () => {
    const first = await startAuthOrigin({ dataDir })
    const before = readFileSync(join(dataDir, 'admin-password'), 'utf8')
    const hash = (await accountByName(first.db, 'admin'))!.secretHash
    await first.close()
    let printed = ''
    const second = await startAuthOrigin({ dataDir, print: (t) => { printed += t } })
    try {
      expect(printed).toBe('')
      expect(readFileSync(join(dataDir, 'admin-password'), 'utf8')).toBe(before)
      expect((await accountByName(second.db, 'admin'))!.secretHash).toBe(hash)
      expect(await listAccounts(second.db)).toHaveLength(1)
    } finally {
      await second.close()
    }
  })

  it('refuses to start over a password file whose account is gone, and never overwrites it', async () => {
    writeFileSync(join(dataDir, 'admin-password'), 'an old password\n', { mode: 0o600 })
    await expect(startAuthOrigin({ dataDir })).rejects.toThrow(/admin-password exists but there is no admin account: remove the file/)
    expect(readFileSync(join(dataDir, 'admin-password'), 'utf8')).toBe('an old password\n')
  })

  it('makes nothing with MERIDIAN_AUTH=off', async () => {
    let printed = ''
    const origin = await startTestOrigin({ dataDir, print: (t) => { printed += t } })
    try {
      expect(existsSync(join(dataDir, 'admin-password'))).toBe(false)
      expect(await listAccounts(origin.db)).toEqual([])
      expect(printed).toBe('')
      // And no access control: the token endpoint is not there, pings answer 200.
      expect((await fetch(`${origin.url}/v2/`)).status).toBe(200)
      expect((await fetch(`${origin.url}/v2/token`)).status).toBe(404)
    } finally {
      await origin.close()
    }
  })
})
