// The change log's retention (origin.changeRetentionHours): at start and then hourly, changes older
// than the retention are removed in batches (db/queries/change-pruning.ts). An edge whose position
// falls below what was removed is answered 410 by the feed and rebuilds from the snapshot. Several
// origins sharing a database may all run it: each batch is one transaction and the watermark only
// rises.

import type { Db } from '../../db/client.ts'
import { pruneChanges } from '../../db/queries/change-pruning.ts'
import type { Logger } from '../log.ts'
import { runPeriodically } from '../periodic.ts'

/** Runs pruneChanges now and every `intervalMs` (runPeriodically); stop() cuts a pass short. */
export function startChangePruning(db: Db, log: Logger, options: { retainHours: number; intervalMs?: number }): { stop(): Promise<void> } {
  const { retainHours, intervalMs = 3_600_000 } = options
  if (retainHours === 0) return { stop: async () => {} }
  return runPeriodically('change log pruning', log, intervalMs, async (signal) => {
    const r = await pruneChanges(db, { retainMs: retainHours * 3_600_000, signal })
    if (r.removed > 0) log.info('change log pruned', { ...r, retainHours })
  })
}
