// Expired access-control records go: refresh tokens past their expiry and signing keys past their
// verifyUntil (no token they signed can still be valid). At start and then hourly, beside the
// upload cleanup; idempotent, so several origins sharing a database may all run it.

import type { Db } from '../../db/client.ts'
import { deleteExpiredRefreshTokens } from '../../db/queries/refresh-tokens.ts'
import { deleteExpiredSigningKeys } from '../../db/queries/signing-keys.ts'
import { describeError, type Logger } from '../log.ts'

export function pruneAuthRecords(db: Db, now = Date.now()): { refreshTokens: number; signingKeys: number } {
  return { refreshTokens: deleteExpiredRefreshTokens(db, now), signingKeys: deleteExpiredSigningKeys(db, now) }
}

export function startAuthHousekeeping(db: Db, log: Logger, intervalMs = 3_600_000): { stop(): void } {
  const run = () => {
    try {
      const removed = pruneAuthRecords(db)
      if (removed.refreshTokens + removed.signingKeys > 0) log.info('expired access records removed', removed)
    } catch (err) {
      log.error('access record cleanup failed', { error: describeError(err) })
    }
  }
  run()
  const timer = setInterval(run, intervalMs)
  timer.unref?.()
  return { stop: () => clearInterval(timer) }
}
