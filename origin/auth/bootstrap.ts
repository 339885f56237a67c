// First start with access control on: with no admin account, there would be no way in. Make the
// user `admin` with a random password, written once to `<dataDir>/admin-password` (mode 0600,
// O_EXCL: an existing file is never overwritten) and nowhere else: not in the log, not on stdout.

import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs'
import { join, relative, isAbsolute } from 'node:path'
import type { Db } from '../../db/client.ts'
import { AccountExists, accountByName, createAccount, listAccounts } from '../../db/queries/accounts.ts'
import type { Logger } from '../log.ts'
import { hashSecret, newPassword } from './passwords.ts'

export const ADMIN_ACCOUNT = 'admin'
export const ADMIN_PASSWORD_FILE = 'admin-password'

export class BootstrapError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BootstrapError'
  }
}

/**
 * Makes the first admin when there is no admin account at all; returns the password file it
 * wrote, or null when an admin already existed (or another origin made it first). Throws
 * BootstrapError when the file is already there, since its password may belong to an account
 * that no longer exists, and overwriting it would break whatever reads it.
 */
export async function ensureAdminAccount(db: Db, dataDir: string, log?: Logger): Promise<string | null> {
  if ((await listAccounts(db)).some((a) => a.isAdmin)) return null
  if (await accountByName(db, ADMIN_ACCOUNT)) {
    log?.warn('no admin account, and "admin" is taken by an account without admin rights: make an admin with npm run admin -- user create <name> --admin')
    return null
  }
  const file = join(dataDir, ADMIN_PASSWORD_FILE)
  const password = newPassword()
  const secretHash = await hashSecret(password)
  mkdirSync(dataDir, { recursive: true })
  let fd: number
  try {
    fd = openSync(file, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    throw new BootstrapError(`${file} exists but there is no admin account: remove the file to have a new admin made at the next start, or make one with npm run admin -- user create <name> --admin`)
  }
  try {
    writeSync(fd, `${password}\n`)
  } finally {
    closeSync(fd)
  }
  try {
    await createAccount(db, { name: ADMIN_ACCOUNT, kind: 'user', secretHash, isAdmin: true })
  } catch (err) {
    // Our password never reached the database: the file would lie.
    unlinkSync(file)
    if (err instanceof AccountExists) return null
    throw err
  }
  log?.info('made the first admin account', { account: ADMIN_ACCOUNT, passwordFile: file })
  return file
}

/** What to tell the operator (stdout): how to log in with the password file, never the password. */
export function loginInstructions(host: string, passwordFile: string, cwd = process.cwd()): string {
  const rel = relative(cwd, passwordFile)
  const shown = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : passwordFile
  return [
    '',
    `Access control is on. The first admin account is "${ADMIN_ACCOUNT}"; its password is in ${shown}`,
    '(readable by this user only, written once, shown nowhere else). Log in with:',
    `  skopeo login --tls-verify=false -u ${ADMIN_ACCOUNT} --password-stdin ${host} < ${shown}`,
    `  podman login --tls-verify=false -u ${ADMIN_ACCOUNT} --password-stdin ${host} < ${shown}`,
    `  docker login -u ${ADMIN_ACCOUNT} --password-stdin ${host} < ${shown}`,
    'Then make accounts for people and robots for CI (docs/access-control.md):',
    '  npm run admin -- user create alice          npm run admin -- grant alice team/* pull,push',
    '  npm run admin -- robot create team ci       npm run admin -- public team/app',
    '',
  ].join('\n') + '\n'
}
