// Accounts (db/schema.ts `accounts`): users and robots. Only the secret's slow hash is stored
// (origin/auth/passwords.ts); callers hash before they call in here.

import { asc, eq } from 'drizzle-orm'
import type { Db } from '../client.ts'
import type { Tx } from './changes.ts'
import { accounts } from '../schema.ts'

export type AccountKind = 'user' | 'robot'

export interface AccountRow {
  id: number; name: string; kind: AccountKind; secretHash: string
  isAdmin: boolean; disabled: boolean; createdAt: number; updatedAt: number
}

/** createAccount on a name already taken; the CLI and the admin API turn it into a clear message. */
export class AccountExists extends Error {
  readonly account: string
  constructor(account: string) {
    super(`account ${account} already exists`)
    this.name = 'AccountExists'
    this.account = account
  }
}

const asRow = (r: typeof accounts.$inferSelect): AccountRow => ({ ...r, kind: r.kind === 'robot' ? 'robot' : 'user' })

/** Throws AccountExists when the name is taken (by a user or a robot). */
export async function createAccount(db: Db, a: { name: string; kind: AccountKind; secretHash: string; isAdmin?: boolean }, now = Date.now()): Promise<AccountRow> {
  return db.transaction(async (tx) => {
    const r = await tx.insert(accounts).values({
      name: a.name, kind: a.kind, secretHash: a.secretHash, isAdmin: a.isAdmin ?? false, createdAt: now, updatedAt: now,
    }).onConflictDoNothing().run()
    if (r.changes === 0) throw new AccountExists(a.name)
    return (await accountByName(tx, a.name))!
  })
}

export async function accountByName(db: Tx, name: string): Promise<AccountRow | null> {
  const r = await db.select().from(accounts).where(eq(accounts.name, name)).get()
  return r ? asRow(r) : null
}

export async function accountById(db: Tx, id: number): Promise<AccountRow | null> {
  const r = await db.select().from(accounts).where(eq(accounts.id, id)).get()
  return r ? asRow(r) : null
}

export async function listAccounts(db: Db): Promise<AccountRow[]> {
  return (await db.select().from(accounts).orderBy(asc(accounts.name)).all()).map(asRow)
}

async function update(db: Db, name: string, set: Partial<typeof accounts.$inferInsert>, now = Date.now()): Promise<boolean> {
  return (await db.update(accounts).set({ ...set, updatedAt: now }).where(eq(accounts.name, name)).run()).changes > 0
}

/** False when there is no such account. */
export async function setAccountSecret(db: Db, name: string, secretHash: string): Promise<boolean> {
  return update(db, name, { secretHash })
}

export async function setAccountDisabled(db: Db, name: string, disabled: boolean): Promise<boolean> {
  return update(db, name, { disabled })
}

export async function setAccountAdmin(db: Db, name: string, isAdmin: boolean): Promise<boolean> {
  return update(db, name, { isAdmin })
}

/** Its grants and refresh tokens go with it (ON DELETE CASCADE). */
export async function deleteAccount(db: Db, name: string): Promise<boolean> {
  return (await db.delete(accounts).where(eq(accounts.name, name)).run()).changes > 0
}
