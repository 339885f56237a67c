// The operator's access-control operations, shared by `npm run admin` (scripts/admin.ts) and the
// admin API (origin/auth/admin-routes.ts): accounts, robots, grants, public repositories, key
// rotation. Input is checked here, once; every refusal is an OciError, whose message the CLI
// prints and the API renders. A secret leaves only in the answer to the call that made it.

import { deleteRefreshTokensOf } from '../../db/queries/refresh-tokens.ts'
import type { Db } from '../../db/client.ts'
import {
  AccountExists, accountByName, createAccount, deleteAccount, listAccounts, setAccountAdmin, setAccountDisabled, setAccountSecret,
  type AccountKind, type AccountRow,
} from '../../db/queries/accounts.ts'
import { GrantInvalid, grantActions, grantsOf, revokeGrant } from '../../db/queries/grants.ts'
import { publicRepositoryNames, setRepositoryPublic } from '../../db/queries/visibility.ts'
import { ociError } from '../../oci/errors.ts'
import { isValidName } from '../../oci/names.ts'
import { hashSecret, newPassword, newRobotSecret } from './passwords.ts'
import type { KeyStore, RotatedKey } from './signing-keys.ts'

/** Users: a lowercase name as docker accepts it for `login -u`; never a `+` (robots have one). */
const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
/** A robot's own part, after `<namespace>+`. */
const ROBOT_PART = /^[a-z0-9][a-z0-9_-]{0,63}$/
/** Long enough not to be guessed within the login rate limit; bounded so hashing stays cheap. */
export const MIN_PASSWORD_LENGTH = 8
const MAX_PASSWORD_LENGTH = 1024

export interface AccountView {
  name: string
  kind: AccountKind
  isAdmin: boolean
  disabled: boolean
  createdAt: number
  grants: Array<{ target: string; actions: string[] }>
}

/** A new account or a new secret: `secret` is shown to the operator once and stored nowhere. */
export interface IssuedSecret {
  account: AccountView
  secret: string
}

const invalid = (message: string, detail?: unknown) => ociError('UNSUPPORTED', { status: 400, message, detail })
const conflict = (message: string) => ociError('UNSUPPORTED', { status: 409, message })

async function viewOf(db: Db, row: AccountRow): Promise<AccountView> {
  return { name: row.name, kind: row.kind, isAdmin: row.isAdmin, disabled: row.disabled, createdAt: row.createdAt, grants: await grantsOf(db, row.id) }
}

async function mustFind(db: Db, name: string): Promise<AccountRow> {
  const row = typeof name === 'string' ? await accountByName(db, name) : null
  if (!row) throw ociError('NOT_FOUND', { message: `no account named "${String(name)}"` })
  return row
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw invalid(`a password needs ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`)
  }
}

async function create(db: Db, name: string, kind: AccountKind, secret: string, isAdmin: boolean): Promise<IssuedSecret> {
  // Hashing is slow (scrypt): answer a taken name before spending it.
  if (await accountByName(db, name)) throw conflict(`an account named "${name}" exists`)
  const secretHash = await hashSecret(secret)
  try {
    return { account: await viewOf(db, await createAccount(db, { name, kind, secretHash, isAdmin })), secret }
  } catch (err) {
    if (err instanceof AccountExists) throw conflict(`an account named "${name}" exists`)
    throw err
  }
}

/** A user; the password given (checked), or a generated one. */
export async function createUser(db: Db, name: string, options: { admin?: boolean; password?: string } = {}): Promise<IssuedSecret> {
  if (typeof name !== 'string' || !USER_NAME.test(name)) {
    throw invalid('a user name is 1-64 of a-z, 0-9, ".", "_", "-", starting with a letter or digit', { name })
  }
  if (options.password !== undefined) checkPassword(options.password)
  return create(db, name, 'user', options.password ?? newPassword(), options.admin ?? false)
}

/** A robot `<namespace>+<name>` with a random secret; it can do only what it is granted. */
export async function createRobot(db: Db, namespace: string, name: string): Promise<IssuedSecret> {
  if (typeof namespace !== 'string' || !isValidName(namespace) || namespace.includes('/')) {
    throw invalid('a robot\'s namespace is one repository name component (e.g. "team")', { namespace })
  }
  if (typeof name !== 'string' || !ROBOT_PART.test(name)) throw invalid('a robot name is 1-64 of a-z, 0-9, "_", "-"', { name })
  return create(db, `${namespace}+${name}`, 'robot', newRobotSecret(), false)
}

/** A new secret: the password given, or a generated one (always generated for robots). */
export async function resetSecret(db: Db, name: string, password?: string): Promise<IssuedSecret> {
  const row = await mustFind(db, name)
  if (password !== undefined) {
    if (row.kind === 'robot') throw invalid('a robot\'s secret is always generated')
    checkPassword(password)
  }
  const secret = password ?? (row.kind === 'robot' ? newRobotSecret() : newPassword())
  // Hashed before the transaction: it runs only database work (and may run again).
  const secretHash = await hashSecret(secret)
  await db.transaction(async (tx) => {
    await setAccountSecret(tx, row.name, secretHash)
    // A new secret ends the sessions the old one opened: its refresh tokens go with it.
    await deleteRefreshTokensOf(tx, row.id)
  })
  return { account: await viewOf(db, row), secret }
}

/**
 * Refuses to leave the registry without an enabled admin (the CLI could still make one). Called
 * inside the transaction that makes the change, so two admins demoting each other at once (on two
 * origins) cannot both pass it.
 */
async function keepAnAdmin(tx: Db, row: AccountRow, what: string): Promise<void> {
  if (!row.isAdmin || row.disabled) return
  const others = (await listAccounts(tx)).filter((a) => a.isAdmin && !a.disabled && a.name !== row.name)
  if (others.length === 0) throw conflict(`"${row.name}" is the last enabled admin: ${what} it would leave nobody to administer the registry`)
}

export async function setDisabled(db: Db, name: string, disabled: boolean): Promise<AccountView> {
  const row = await db.transaction(async (tx) => {
    const found = await mustFind(tx, name)
    if (disabled) await keepAnAdmin(tx, found, 'disabling')
    await setAccountDisabled(tx, found.name, disabled)
    if (disabled) await deleteRefreshTokensOf(tx, found.id)
    return found
  })
  return viewOf(db, await mustFind(db, row.name))
}

export async function setAdmin(db: Db, name: string, isAdmin: boolean): Promise<AccountView> {
  const row = await db.transaction(async (tx) => {
    const found = await mustFind(tx, name)
    if (!isAdmin) await keepAnAdmin(tx, found, 'demoting')
    await setAccountAdmin(tx, found.name, isAdmin)
    return found
  })
  return viewOf(db, await mustFind(db, row.name))
}

export async function removeAccount(db: Db, name: string): Promise<void> {
  await db.transaction(async (tx) => {
    const row = await mustFind(tx, name)
    await keepAnAdmin(tx, row, 'deleting')
    await deleteAccount(tx, row.name)
  })
}

/** `team/app` or `team/*` (every repository under `team/`). */
export function checkTarget(target: unknown): string {
  const text = typeof target === 'string' ? target : ''
  const name = text.endsWith('/*') ? text.slice(0, -2) : text
  if (!isValidName(name)) throw invalid('a grant target is a repository ("team/app") or a namespace ("team/*")', { target })
  return text
}

/** `pull,push` or a list; replaces what the account had on that target. */
export async function grant(db: Db, account: string, target: string, actions: string | string[]): Promise<AccountView> {
  const row = await mustFind(db, account)
  const list = typeof actions === 'string' ? actions.split(',').map((a) => a.trim()).filter(Boolean) : Array.isArray(actions) ? actions : []
  if (!list.every((a) => typeof a === 'string')) throw invalid('actions are a list of pull, push, delete, admin')
  try {
    await grantActions(db, row.id, checkTarget(target), list)
  } catch (err) {
    if (err instanceof GrantInvalid) throw invalid(err.message)
    throw err
  }
  return viewOf(db, row)
}

export async function revoke(db: Db, account: string, target: string): Promise<AccountView> {
  const row = await mustFind(db, account)
  if (!await revokeGrant(db, row.id, checkTarget(target))) throw ociError('NOT_FOUND', { message: `"${row.name}" has no grant on "${target}"` })
  return viewOf(db, row)
}

/** `changed` is false when the repository already was so. */
export async function setPublic(db: Db, repository: string, isPublic: boolean): Promise<{ repository: string; public: boolean; changed: boolean }> {
  if (typeof repository !== 'string' || !isValidName(repository)) throw ociError('NAME_INVALID', { detail: { name: repository } })
  return { repository, public: isPublic, changed: await setRepositoryPublic(db, repository, isPublic) }
}

export async function describeAccess(db: Db): Promise<{ accounts: AccountView[]; publicRepositories: string[] }> {
  const accounts: AccountView[] = []
  for (const row of await listAccounts(db)) accounts.push(await viewOf(db, row))
  return { accounts, publicRepositories: await publicRepositoryNames(db) }
}

export async function describeAccount(db: Db, name: string): Promise<AccountView> {
  return viewOf(db, await mustFind(db, name))
}

/** A new signing key, in the JWKS at once, signs from `signsAt` on; the old one signs until then and
 * keeps verifying until its last token expires. */
export async function rotateKey(keys: KeyStore): Promise<RotatedKey> {
  return keys.rotate()
}
