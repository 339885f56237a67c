// Who may do what (README "Access control"): the token endpoint grants the intersection of what was
// asked and what the account may do (distribution token.md: a partial grant is not an error), and
// the catalog shows only what the caller may pull.

import type { Db } from '../../db/client.ts'
import type { AccountRow } from '../../db/queries/accounts.ts'
import { accountByName } from '../../db/queries/accounts.ts'
import { grantsOf } from '../../db/queries/grants.ts'
import { isRepositoryPublic, publicRepositoryNames } from '../../db/queries/visibility.ts'
import { REPOSITORY_ACTIONS, type Access, type Caller } from '../../oci/auth/types.ts'

type Grant = { target: string; actions: string[] }

/**
 * What a registry token needs to open the admin API (origin/routes/admin.ts): granted only to an
 * admin account, and only when asked for by name. A token issued for pulls never carries it, so
 * one captured at an edge or a proxy cannot be turned against the admin API.
 */
export const ADMIN_API_SCOPE = 'registry:admin:*'

/** Whether a token's access claim holds ADMIN_API_SCOPE. */
export function holdsAdminApiAccess(access: readonly Access[]): boolean {
  return access.some((a) => a.type === 'registry' && a.name === 'admin' && a.actions.includes('*'))
}

/** `team/app` matches itself; `team/*` every repository whose name starts with `team/`. */
export function targetMatches(target: string, repository: string): boolean {
  return target.endsWith('/*') ? repository.startsWith(target.slice(0, -1)) : target === repository
}

/** What a grant's actions allow: push implies pull; admin implies pull, push and delete. */
function expand(actions: string[]): string[] {
  const out = new Set(actions)
  if (out.has('push')) out.add('pull')
  if (out.has('admin')) for (const a of ['pull', 'push', 'delete']) out.add(a)
  return [...out]
}

function allowedOn(repository: string, grants: Grant[], isPublic: boolean): Set<string> {
  const allowed = new Set<string>(isPublic ? ['pull'] : [])
  for (const g of grants) if (targetMatches(g.target, repository)) for (const a of expand(g.actions)) allowed.add(a)
  return allowed
}

const orderActions = (actions: string[]): string[] =>
  actions.includes('*') ? ['*'] : REPOSITORY_ACTIONS.filter((a) => actions.includes(a))

/**
 * The part of `requested` the account may have (null: anonymous; a disabled account gets nothing).
 * Entries left with no action are dropped; actions come out in REPOSITORY_ACTIONS order.
 */
export async function grantedAccess(db: Db, account: AccountRow | null, requested: Access[]): Promise<Access[]> {
  if (account?.disabled) return []
  const grants = account && !account.isAdmin ? await grantsOf(db, account.id) : []
  const out = new Map<string, Access>()
  for (const want of requested) {
    let actions: string[]
    if (want.type === 'registry') {
      // The catalog is open to every caller; what it lists is filtered (visibleRepositories). The
      // admin API only to admin accounts (a disabled one got nothing above).
      const allowed = want.name === 'catalog' || (want.name === 'admin' && account?.isAdmin === true)
      actions = allowed ? want.actions.filter((a) => a === '*') : []
    } else if (account?.isAdmin) {
      actions = REPOSITORY_ACTIONS.filter((a) => want.actions.includes(a))
    } else {
      const allowed = allowedOn(want.name, grants, await isRepositoryPublic(db, want.name))
      actions = REPOSITORY_ACTIONS.filter((a) => want.actions.includes(a) && allowed.has(a))
    }
    if (actions.length === 0) continue
    const key = `${want.type}:${want.name}`
    const merged = out.get(key)
    out.set(key, { type: want.type, name: want.name, actions: merged ? orderActions([...merged.actions, ...actions]) : actions })
  }
  return [...out.values()]
}

/**
 * Catalog filter: the names the caller may pull now (its account's current grants, not its
 * token's, which hold only the catalog scope). Anonymous, unknown or disabled: public ones only.
 */
export async function visibleRepositories(db: Db, caller: Caller, names: string[]): Promise<string[]> {
  const account = caller.subject === '' ? null : await accountByName(db, caller.subject)
  if (account?.isAdmin && !account.disabled) return names
  const publicNames = new Set(await publicRepositoryNames(db))
  const grants = account && !account.disabled ? await grantsOf(db, account.id) : []
  return names.filter((name) => allowedOn(name, grants, publicNames.has(name)).has('pull'))
}
