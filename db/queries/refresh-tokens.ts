// OAuth2 refresh tokens (db/schema.ts `refresh_tokens`): only the SHA-256 of the token is stored,
// so a copy of the database hands out no usable token. Hashing is the caller's
// (origin/auth/token-routes.ts); rows are bound to an account and a service.

import { and, eq, lte } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { refreshTokens } from '../schema.ts'

export type RefreshTokenRow = typeof refreshTokens.$inferSelect

export async function insertRefreshToken(db: Db, t: { tokenHash: string; accountId: number; service: string; clientId: string | null; expiresAt: number }, now = Date.now()): Promise<void> {
  await db.insert(refreshTokens).values({ ...t, createdAt: now }).run()
}

/** The row of `tokenHash` unless it expired by `now`. */
export async function refreshTokenByHash(db: Db, tokenHash: string, now = Date.now()): Promise<RefreshTokenRow | null> {
  const row = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).get()
  return row && row.expiresAt > now ? row : null
}

/** Revokes every refresh token of an account (a new password, a disabled account); returns how many. */
export async function deleteRefreshTokensOf(db: Db, accountId: number): Promise<number> {
  return (await db.delete(refreshTokens).where(eq(refreshTokens.accountId, accountId)).run()).changes
}

export async function deleteRefreshToken(db: Db, tokenHash: string, accountId: number): Promise<boolean> {
  return (await db.delete(refreshTokens).where(and(eq(refreshTokens.tokenHash, tokenHash), eq(refreshTokens.accountId, accountId))).run()).changes > 0
}

/** Deletes expired rows; returns how many. */
export async function deleteExpiredRefreshTokens(db: Db, now = Date.now()): Promise<number> {
  return (await db.delete(refreshTokens).where(lte(refreshTokens.expiresAt, now)).run()).changes
}
