// Temporary files that interrupted writes left in every location's scratch space (a crash mid-put:
// fs `.tmp/` files, S3 multipart uploads never completed). The origin sweeps at start-up and with
// every hourly cleanup pass; `npm run gc` sweeps too (origin/uploads/cleanup.ts).

import type { LocationSet } from '../locations.ts'
import { describeError, type Logger } from '../log.ts'

/**
 * Scratch space untouched for this long belongs to no live write. A live write touches it at
 * least every WRITE_EVERY_MS (10 s, storage/drivers/fs-write.ts) while its body moves, and a body
 * that stops moving for the idle timeout (origin.idleTimeoutMs, 120 s by default) is cut by the
 * server (origin/server.ts), which fails the put and removes its file: 15 minutes leaves a wide
 * margin over both at the default. A longer idle timeout lengthens it (tempGraceFor).
 */
export const TEMP_GRACE_MS = 15 * 60_000
/** What a grace period must exceed the idle timeout by: the 10 s touch interval, clocks, slack. */
export const TEMP_GRACE_MARGIN_MS = 60_000

/**
 * The shortest grace an operator may ask for with this idle timeout: a paused live upload's temp
 * file goes untouched for up to the idle timeout before the server cuts it.
 */
export function minTempGraceMs(idleTimeoutMs: number): number {
  return idleTimeoutMs + TEMP_GRACE_MARGIN_MS
}

/** The grace period wherever the sweep runs (origin start-up, hourly pass, npm run gc). */
export function tempGraceFor(idleTimeoutMs: number): number {
  return Math.max(TEMP_GRACE_MS, minTempGraceMs(idleTimeoutMs))
}

export interface TempSweepItem {
  location: string
  items: number
  bytes: number
}

export interface TempSweepResult {
  items: number
  bytes: number
  /** Locations whose sweep failed (logged; the next pass retries). */
  errors: number
}

export async function sweepTemporaryFiles(
  deps: { locations: Pick<LocationSet, 'all'>; log: Logger },
  options: { olderThan: Date; dryRun?: boolean; onItem?: (item: TempSweepItem) => void },
): Promise<TempSweepResult> {
  const result: TempSweepResult = { items: 0, bytes: 0, errors: 0 }
  for (const { id, engine } of deps.locations.all()) {
    if (!engine.sweepTemporary) continue
    try {
      const swept = await engine.sweepTemporary(options.olderThan, { dryRun: options.dryRun })
      if (swept.items === 0) continue
      result.items += swept.items
      result.bytes += swept.bytes
      if (!options.dryRun) deps.log.info('removed temporary files', { location: id, ...swept })
      options.onItem?.({ location: id, ...swept })
    } catch (err) {
      result.errors++
      deps.log.warn('temporary file sweep failed', { location: id, error: describeError(err) })
    }
  }
  return result
}
