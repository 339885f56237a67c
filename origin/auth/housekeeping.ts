// Expired access-control records go: refresh tokens past their expiry and signing keys past their
// verifyUntil (no token they signed can still be valid). At start and then hourly, beside the
// upload cleanup; idempotent, so several origins sharing a database may all run it.

import type { Db } from '../../db/client.ts'
import { deleteExpiredRefreshTokens } from '../../db/queries/refresh-tokens.ts'
import { deleteExpiredSigningKeys } from '../../db/queries/signing-keys.ts'
import type { Logger } from '../log.ts'
import { runPeriodically } from '../periodic.ts'

export async function pruneAuthRecords(db: Db, now = Date.now()): Promise<{ refreshTokens: number; signingKeys: number }> {
  return { refreshTokens: await deleteExpiredRefreshTokens(db, now), signingKeys: await deleteExpiredSigningKeys(db, now) }
}

/** At start and every `intervalMs`, one pass at a time; stop() waits for a running one (the database closes after it). */
export function startAuthHousekeeping(db: Db, log: Logger, intervalMs = 3_600_000): { stop(): Promise<void> } {
  return runPeriodically('access record cleanup', log, intervalMs, async () => {
    const removed = await pruneAuthRecords(db)
    if (removed.refreshTokens + removed.signingKeys > 0) log.info('expired access records removed', removed)
  })
}
