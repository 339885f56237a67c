// What an account may do (db/schema.ts `grants`): one row per (account, target), the target a
// repository (`team/app`) or a namespace (`team/*`). The rules that read them: origin/auth/grants.ts.

import { and, asc, eq } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { grants } from '../schema.ts'
import { REPOSITORY_ACTIONS } from '../../oci/auth/types.ts'

/** grantActions with an action outside pull, push, delete, admin, or none at all. */
export class GrantInvalid extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'GrantInvalid'
  }
}

/** Sets the actions of `accountId` on `target`, replacing any it had there. Stored deduplicated, in REPOSITORY_ACTIONS order. */
export async function grantActions(db: Db, accountId: number, target: string, actions: string[], now = Date.now()): Promise<void> {
  const unknown = actions.filter((a) => !(REPOSITORY_ACTIONS as readonly string[]).includes(a))
  if (unknown.length > 0) throw new GrantInvalid(`unknown action ${unknown.join(',')}: use pull, push, delete or admin`)
  const ordered = REPOSITORY_ACTIONS.filter((a) => actions.includes(a))
  if (ordered.length === 0) throw new GrantInvalid('a grant needs at least one action (revoke it instead)')
  const value = ordered.join(',')
  await db.insert(grants).values({ accountId, target, actions: value, createdAt: now })
    .onConflictDoUpdate({ target: [grants.accountId, grants.target], set: { actions: value } }).run()
}

/** False when there was no such grant. */
export async function revokeGrant(db: Db, accountId: number, target: string): Promise<boolean> {
  return (await db.delete(grants).where(and(eq(grants.accountId, accountId), eq(grants.target, target))).run()).changes > 0
}

export async function grantsOf(db: Db, accountId: number): Promise<Array<{ target: string; actions: string[] }>> {
  return (await db.select({ target: grants.target, actions: grants.actions }).from(grants)
    .where(eq(grants.accountId, accountId)).orderBy(asc(grants.target)).all())
    .map((g) => ({ target: g.target, actions: g.actions.split(',').filter(Boolean) }))
}
