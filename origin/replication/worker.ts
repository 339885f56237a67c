// The replication worker: claims due jobs with a lease, copies, records the placement, and on
// failure backs off or dead-letters. Runs inside the origin by default, or alone (npm run worker).
// A crash at any instant loses nothing: the lease expires and the job is claimed again; copies
// are idempotent (content-addressed, atomic puts).

import type { Db } from '../../db/client.ts'
import { claimDueJobs, completeJob, deleteJob, failJob, renewLease, type ClaimedJob, type Job } from '../../db/queries/replication.ts'
import type { TargetsFor } from '../../db/queries/placements.ts'
import type { HasherFactory } from '../../oci/digest.ts'
import type { ReplicationConfig } from '../config/types.ts'
import type { LocationSet } from '../locations.ts'
import type { Metrics } from '../metrics.ts'
import { describeError, type Logger } from '../log.ts'
import { copyBlob, CopyFailure } from './copy.ts'

export interface WorkerDeps {
  db: Db
  locations: LocationSet
  createHasher: HasherFactory
  config: ReplicationConfig
  log: Logger
  metrics?: Metrics
  /** Unique per worker process; recorded as the lease owner. */
  owner?: string
  /** How long to sleep when no job is due (a commit in this process wakes it sooner). */
  pollMs?: number
  /** Current policy, re-checked before each copy. */
  targetsFor?: TargetsFor
}

export interface ReplicationWorker {
  start(): void
  /** Stops claiming and waits for copies in flight. */
  stop(): Promise<void>
  /** Look for work now (called after a commit). */
  wake(): void
  /** Runs until no job is due and none is in flight (tests, scripts). */
  drain(options?: { timeoutMs?: number }): Promise<void>
}

export function createReplicationWorker(deps: WorkerDeps): ReplicationWorker {
  const owner = deps.owner ?? `worker-${crypto.randomUUID().slice(0, 8)}`
  const { config, log } = deps
  const leaseMs = config.leaseSeconds * 1000
  const pollMs = deps.pollMs ?? 200
  const inFlight = new Set<Promise<void>>()
  /** Ids of the jobs whose copies run in this worker now. */
  const runningIds = new Set<number>()
  let running = false
  let loopDone: Promise<void> | null = null
  let wakeUp: (() => void) | null = null

  // One line when a copy attempt starts and one when it ends (whatever the outcome), with the job,
  // the owner and the instant: test/scale/multi-origin-chaos.test.ts reads them from every worker
  // to prove that no two workers ever copied the same (blob, location) at once.
  function attempt(msg: string, job: Job, fields: Record<string, unknown> = {}) {
    log.info(msg, { jobId: job.id, digest: job.digest, location: job.location, owner, at: Date.now(), ...fields })
  }

  async function run(job: ClaimedJob): Promise<void> {
    const started = Date.now()
    attempt('replication attempt started', job)
    // 'error' unless set below: recording the outcome threw (the caller logs it; the lease expires).
    let ended = 'error'
    let source: string | undefined
    // Long copies keep their lease; a worker that dies stops renewing and the job is re-claimed.
    // A renewal that fails (the database busy) is tried again at the next beat.
    // A renewal answered after this worker began recording the outcome finds the job done (or
    // pending again): that is no loss, and warning of one misleads (the chaos test saw it).
    let copying = true
    const heartbeat = setInterval(() => {
      renewLease(deps.db, job.id, owner, leaseMs).then(
        (renewed) => { if (!renewed && copying) log.warn('replication lease lost to another worker', { digest: job.digest, target: job.location }) },
        (err: unknown) => log.warn('renewing a replication lease failed', { error: describeError(err) }),
      )
    }, Math.max(1000, leaseMs / 3))
    try {
      const result = await copyBlob({ ...deps, onBytes: (s, t, n) => deps.metrics?.bytesCopied.inc({ source: s, target: t }, n) }, job)
        .finally(() => { copying = false })
      await completeJob(deps.db, job, result)
      ended = 'done'
      source = result.source
      deps.metrics?.jobs.inc({ location: job.location, outcome: 'done' })
      deps.metrics?.lag.observe({ location: job.location }, (Date.now() - job.createdAt) / 1000)
      log.info('replicated', { digest: job.digest, target: job.location, source: result.source, serverSide: result.serverSide, bytes: result.size, ms: Date.now() - started })
    } catch (err) {
      if (err instanceof CopyFailure && err.cancel) {
        await deleteJob(deps.db, job)
        ended = 'dropped'
        log.info('replication job dropped', { digest: job.digest, target: job.location, reason: err.message })
        return
      }
      const permanent = err instanceof CopyFailure && err.permanent
      const error = err instanceof CopyFailure ? err.message : describeError(err)
      const outcome = await failJob(deps.db, job, { error, permanent, maxAttempts: config.maxAttempts, backoffBaseMs: config.backoffBaseMs, backoffMaxMs: config.backoffMaxMs })
      ended = outcome
      if (outcome === 'lost') return
      deps.metrics?.jobs.inc({ location: job.location, outcome })
      const fields = { digest: job.digest, target: job.location, attempts: job.attempts + 1, error }
      if (outcome === 'dead') log.error('replication dead-lettered', fields)
      else log.warn('replication failed, will retry', fields)
    } finally {
      clearInterval(heartbeat)
      // source = location: the bytes were already there, nothing was copied.
      attempt('replication attempt ended', job, { outcome: ended, ...(source ? { source } : {}) })
    }
  }

  // One claim at a time (the loop and drain may overlap): two at once would both see the same
  // free slots and claim past the concurrency.
  let claiming: Promise<number> | null = null
  function claimMore(): Promise<number> {
    claiming ??= claimFree().finally(() => { claiming = null })
    return claiming
  }

  async function claimFree(): Promise<number> {
    const free = config.concurrency - inFlight.size
    const jobs = free > 0 ? await claimDueJobs(deps.db, { owner, limit: free, leaseMs, maxAttempts: config.maxAttempts }) : []
    for (const job of jobs) {
      // Its own job, claimed back after its lease ran out while the copy was still running here
      // (renewals delayed): the running copy carries on under the new lease; a second copy of
      // the same (blob, location) must not start beside it.
      if (runningIds.has(job.id)) {
        log.warn('replication lease expired during a copy and was taken back by this worker', { jobId: job.id, digest: job.digest, target: job.location })
        continue
      }
      runningIds.add(job.id)
      // Recording the outcome can fail too (the database busy, full): the lease then expires and
      // the job is claimed again; the process must not die of it.
      const p: Promise<void> = run(job)
        .catch((err) => log.error('recording a replication outcome failed', { digest: job.digest, target: job.location, error: describeError(err) }))
        .finally(() => { inFlight.delete(p); runningIds.delete(job.id); wake() })
      inFlight.add(p)
    }
    return jobs.length
  }

  // A wake that arrives while a claim is in flight (its query may have missed the new job) must
  // not be lost: the loop then claims again at once instead of sleeping.
  let woken = false
  function wake() {
    woken = true
    wakeUp?.()
  }

  async function loop() {
    while (running) {
      let claimed = 0
      woken = false
      try {
        claimed = await claimMore()
      } catch (err) {
        log.error('claiming replication jobs failed', { error: describeError(err) })
      }
      if (claimed === 0 && !woken) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, pollMs)
          wakeUp = () => { clearTimeout(t); resolve() }
        })
        wakeUp = null
      }
    }
  }

  return {
    start() {
      if (running) return
      running = true
      loopDone = loop()
      log.info('replication worker started', { owner, concurrency: config.concurrency })
    },
    async stop() {
      running = false
      wake()
      await loopDone
      await Promise.allSettled([...inFlight])
    },
    wake,
    async drain({ timeoutMs = 60_000 } = {}) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const claimed = await claimMore()
        if (claimed === 0 && inFlight.size === 0) return
        if (Date.now() > deadline) throw new Error('replication did not drain in time')
        if (inFlight.size > 0) await Promise.race(inFlight)
      }
    },
  }
}
