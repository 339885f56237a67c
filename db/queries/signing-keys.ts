// Token signing keys (db/schema.ts `signing_keys`), shared by every origin on this database. The
// newest key not retired signs; retired keys verify until `verifyUntil`. Key material is made and
// read by origin/auth/signing-keys.ts; here only rows.

import { and, desc, eq, gt, isNull, lte, or } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { signingKeys } from '../schema.ts'

export type SigningKeyRow = typeof signingKeys.$inferSelect
export type NewSigningKey = Pick<SigningKeyRow, 'kid' | 'alg' | 'privateJwk' | 'publicJwk'>

/** The key that signs now, or null when none was made yet. */
export function currentSigningKey(db: Db): SigningKeyRow | null {
  return db.select().from(signingKeys).where(isNull(signingKeys.retiredAt))
    .orderBy(desc(signingKeys.createdAt), desc(signingKeys.kid)).limit(1).get() ?? null
}

/**
 * Stores `key` unless a current key exists (two origins starting on an empty table race here);
 * returns the key that stands, which the loser uses instead of its own.
 */
export function settleFirstSigningKey(db: Db, key: NewSigningKey, now = Date.now()): SigningKeyRow {
  return db.transaction((tx) => {
    const current = tx.select().from(signingKeys).where(isNull(signingKeys.retiredAt))
      .orderBy(desc(signingKeys.createdAt), desc(signingKeys.kid)).limit(1).get()
    if (current) return current
    tx.insert(signingKeys).values({ ...key, createdAt: now }).run()
    return tx.select().from(signingKeys).where(eq(signingKeys.kid, key.kid)).get()!
  })
}

/**
 * Makes `key` the signing key and retires every other current one, verifying until `verifyUntil`.
 * One transaction: at no moment is there no current key. Returns the kids retired.
 */
export function rotateSigningKey(db: Db, key: NewSigningKey, verifyUntil: number, now = Date.now()): string[] {
  return db.transaction((tx) => {
    const retired = tx.select({ kid: signingKeys.kid }).from(signingKeys).where(isNull(signingKeys.retiredAt)).all().map((r) => r.kid)
    tx.update(signingKeys).set({ retiredAt: now, verifyUntil }).where(isNull(signingKeys.retiredAt)).run()
    tx.insert(signingKeys).values({ ...key, createdAt: now }).run()
    return retired
  })
}

/** The current key and the retired ones whose verifyUntil is still ahead of `now`. */
export function verifyingSigningKeys(db: Db, now = Date.now()): SigningKeyRow[] {
  return db.select().from(signingKeys)
    .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.verifyUntil, now)))
    .orderBy(desc(signingKeys.createdAt), desc(signingKeys.kid)).all()
}

/** `kid` if it still verifies at `now`, else null. */
export function verifyingSigningKey(db: Db, kid: string, now = Date.now()): SigningKeyRow | null {
  return db.select().from(signingKeys)
    .where(and(eq(signingKeys.kid, kid), or(isNull(signingKeys.retiredAt), gt(signingKeys.verifyUntil, now)))).get() ?? null
}

/** Deletes retired keys past their verifyUntil (they verify nothing any more); returns how many. */
export function deleteExpiredSigningKeys(db: Db, now = Date.now()): number {
  return db.delete(signingKeys).where(lte(signingKeys.verifyUntil, now)).run().changes
}
