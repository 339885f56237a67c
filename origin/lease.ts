// "Exactly one process of the deployment runs this": the reconciler and the hourly upload
// cleanup, whichever origin or worker process holds the lease (db/queries/leases.ts). Each run
// first takes or renews the lease; a process that does not hold it skips the run. A holder that
// dies stops renewing, and the lease passes to another process within `ttlMs` plus its interval.

import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Db } from '../db/client.ts'
import { acquireLease, releaseLease } from '../db/queries/leases.ts'

export interface Lease {
  /** Takes or renews the lease; false when another process holds it (or the database failed). */
  hold(): Promise<boolean>
  /** Gives it up (a clean stop), so another process need not wait for it to expire. */
  release(): Promise<void>
}

/** A name for this process among the deployment's: host, pid and a random part (pids repeat). */
export function processOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
}

export function createLease(db: Db, name: string, owner: string, ttlMs: number): Lease {
  let held = false
  return {
    async hold() {
      held = await acquireLease(db, name, owner, ttlMs).catch(() => false)
      return held
    },
    async release() {
      if (held) await releaseLease(db, name, owner).catch(() => {})
      held = false
    },
  }
}

/**
 * The reconciler's lease: longer than the gap between its holder's passes, so a live holder
 * always renews in time; a dead one's passes to another process within about twice the interval.
 */
export function reconcilerLeaseMs(intervalSeconds: number): number {
  return 2 * intervalSeconds * 1000 + 30_000
}
