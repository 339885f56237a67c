// What the origin database keeps of its history: the change log (origin.changeRetentionHours; an
// edge whose position falls below what was removed is answered 410 by the feed and rebuilds from
// the snapshot) and finished replication jobs (replication.jobRetentionHours). At start and then
// hourly, older rows are removed in batches (db/queries/change-pruning.ts, job-pruning.ts). Several
// origins sharing a database may all run it: each batch stands alone and removes only old rows.

import type { Db } from '../db/client.ts'
import { pruneChanges } from '../db/queries/change-pruning.ts'
import { pruneFinishedJobs } from '../db/queries/job-pruning.ts'
import type { Logger } from './log.ts'
import { runPeriodically } from './periodic.ts'

const HOUR = 3_600_000

export interface RetentionOptions {
  /** Hours of the change log kept; 0 keeps it all. */
  changeRetentionHours: number
  /** Hours a done replication job is kept after it finished; 0 keeps them all. */
  jobRetentionHours: number
  intervalMs?: number
}

/** Prunes now and every `intervalMs` (runPeriodically); stop() cuts a pass short. */
export function startRetention(db: Db, log: Logger, options: RetentionOptions): { stop(): Promise<void> } {
  const { changeRetentionHours, jobRetentionHours, intervalMs = HOUR } = options
  if (changeRetentionHours === 0 && jobRetentionHours === 0) return { stop: async () => {} }
  return runPeriodically('history pruning', log, intervalMs, async (signal) => {
    if (changeRetentionHours > 0) {
      const r = await pruneChanges(db, { retainMs: changeRetentionHours * HOUR, signal })
      if (r.removed > 0) log.info('change log pruned', { ...r, retainHours: changeRetentionHours })
    }
    if (jobRetentionHours > 0 && !signal.aborted) {
      const removed = await pruneFinishedJobs(db, { cutoffAt: Date.now() - jobRetentionHours * HOUR, signal })
      if (removed > 0) log.info('finished replication jobs pruned', { removed, retainHours: jobRetentionHours })
    }
  })
}
