// Token signing keys (db/schema.ts `signing_keys`), shared by every origin on this database.
// `retiredAt` is the moment a key stops signing, which a rotation sets in the future: the rotated-in
// key is published at once but the old one keeps signing until then. So the key that signs at `now`
// is, of those not retired by `now`, the next to retire, and the one with no retirement scheduled
// (the newest) only when no other is left. (Not "the oldest by createdAt": a first key and a
// rotation can share a millisecond.) Every origin reading the table picks the same one, and the
// moment of the switch is stored, not derived from a setting each origin might hold differently. Retired keys verify until `verifyUntil`. Key material is made and read by
// origin/auth/signing-keys.ts; here only rows.

import { and, asc, desc, eq, gt, isNull, lte, or, sql } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { signingKeys } from '../schema.ts'

export type SigningKeyRow = typeof signingKeys.$inferSelect
export type NewSigningKey = Pick<SigningKeyRow, 'kid' | 'alg' | 'privateJwk' | 'publicJwk'>

// Next to retire first, unscheduled (null) last; kid only to make any tie the same everywhere.
const SIGNING_ORDER = [sql`${signingKeys.retiredAt} is null`, asc(signingKeys.retiredAt), asc(signingKeys.createdAt), asc(signingKeys.kid)]

/** The key that signs at `now`, or null when none was made yet. */
export async function currentSigningKey(db: Db, now = Date.now()): Promise<SigningKeyRow | null> {
  return (await db.select().from(signingKeys).where(or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, now)))
    .orderBy(...SIGNING_ORDER).limit(1).get()) ?? null
}

/**
 * Stores `key` unless a current key exists (two origins starting on an empty table race here);
 * returns the key that stands, which the loser uses instead of its own.
 */
export async function settleFirstSigningKey(db: Db, key: NewSigningKey, now = Date.now()): Promise<SigningKeyRow> {
  return db.transaction(async (tx) => {
    const current = await tx.select().from(signingKeys).where(or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, now)))
      .orderBy(...SIGNING_ORDER).limit(1).get()
    if (current) return current
    await tx.insert(signingKeys).values({ ...key, createdAt: now }).run()
    return (await tx.select().from(signingKeys).where(eq(signingKeys.kid, key.kid)).get())!
  })
}

/**
 * Adds `key` (published from `now`) and retires every key not yet scheduled to retire at
 * `signsFrom`, verifying until `verifyUntil`: from `signsFrom` on, `key` is the oldest key left and
 * signs. A key already scheduled by an earlier rotation keeps its own moment. With no key to retire
 * (an empty table) `key` signs at once. One transaction: at no moment is there no signing key.
 * Returns the kids retired.
 */
export async function rotateSigningKey(db: Db, key: NewSigningKey, signsFrom: number, verifyUntil: number, now = Date.now()): Promise<string[]> {
  return db.transaction(async (tx) => {
    const retired = (await tx.select({ kid: signingKeys.kid }).from(signingKeys).where(isNull(signingKeys.retiredAt)).all()).map((r) => r.kid)
    await tx.update(signingKeys).set({ retiredAt: signsFrom, verifyUntil }).where(isNull(signingKeys.retiredAt)).run()
    await tx.insert(signingKeys).values({ ...key, createdAt: now }).run()
    return retired
  })
}

/** The current key and the retired ones whose verifyUntil is still ahead of `now`. */
export async function verifyingSigningKeys(db: Db, now = Date.now()): Promise<SigningKeyRow[]> {
  return db.select().from(signingKeys)
    .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.verifyUntil, now)))
    .orderBy(desc(signingKeys.createdAt), desc(signingKeys.kid)).all()
}

/** `kid` if it still verifies at `now`, else null. */
export async function verifyingSigningKey(db: Db, kid: string, now = Date.now()): Promise<SigningKeyRow | null> {
  return (await db.select().from(signingKeys)
    .where(and(eq(signingKeys.kid, kid), or(isNull(signingKeys.retiredAt), gt(signingKeys.verifyUntil, now)))).get()) ?? null
}

/** Deletes retired keys past their verifyUntil (they verify nothing any more); returns how many. */
export async function deleteExpiredSigningKeys(db: Db, now = Date.now()): Promise<number> {
  return (await db.delete(signingKeys).where(lte(signingKeys.verifyUntil, now)).run()).changes
}
