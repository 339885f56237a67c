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
export function createAccount(db: Db, a: { name: string; kind: AccountKind; secretHash: string; isAdmin?: boolean }, now = Date.now()): AccountRow {
  return db.transaction((tx) => {
    const r = tx.insert(accounts).values({
      name: a.name, kind: a.kind, secretHash: a.secretHash, isAdmin: a.isAdmin ?? false, createdAt: now, updatedAt: now,
    }).onConflictDoNothing().run()
    if (r.changes === 0) throw new AccountExists(a.name)
    return accountByName(tx, a.name)!
  })
}

export function accountByName(db: Tx, name: string): AccountRow | null {
  const r = db.select().from(accounts).where(eq(accounts.name, name)).get()
  return r ? asRow(r) : null
}

export function accountById(db: Tx, id: number): AccountRow | null {
  const r = db.select().from(accounts).where(eq(accounts.id, id)).get()
  return r ? asRow(r) : null
}

export function listAccounts(db: Db): AccountRow[] {
  return db.select().from(accounts).orderBy(asc(accounts.name)).all().map(asRow)
}

function update(db: Db, name: string, set: Partial<typeof accounts.$inferInsert>, now = Date.now()): boolean {
  return db.update(accounts).set({ ...set, updatedAt: now }).where(eq(accounts.name, name)).run().changes > 0
}

/** False when there is no such account. */
export function setAccountSecret(db: Db, name: string, secretHash: string): boolean {
  return update(db, name, { secretHash })
}

export function setAccountDisabled(db: Db, name: string, disabled: boolean): boolean {
  return update(db, name, { disabled })
}

export function setAccountAdmin(db: Db, name: string, isAdmin: boolean): boolean {
  return update(db, name, { isAdmin })
}

/** Its grants and refresh tokens go with it (ON DELETE CASCADE). */
export function deleteAccount(db: Db, name: string): boolean {
  return db.delete(accounts).where(eq(accounts.name, name)).run().changes > 0
}
