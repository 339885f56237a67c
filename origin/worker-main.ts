// `npm run worker`: the replication worker and reconciler alone, for deployments that run them
// apart from the HTTP origin (set replication.workerInProcess: false on the origins).

import { loadConfigOrExit } from './config/load-or-exit.ts'
import { openDatabase, closeDatabase } from '../db/client.ts'
import { openLocationSet } from './location-roots.ts'
import { createNativeHasher } from './hasher.ts'
import { createLogger, describeError } from './log.ts'
import { createMetrics } from './metrics.ts'
import { replicationPolicy } from './replication/policy.ts'
import { createReplicationWorker } from './replication/worker.ts'
import { startReconciler } from './replication/reconcile.ts'
import { createLease, processOwnerId, reconcilerLeaseMs } from './lease.ts'
import { JOBS_CHANNEL, listenForCommits } from '../db/notify.ts'

const log = createLogger({ level: (process.env.MERIDIAN_LOG_LEVEL as 'info' | undefined) ?? 'info', base: { process: 'worker' } })
const config = loadConfigOrExit(process.env, (warning) => log.warn('config', { warning }))
const db = await openDatabase(config.databaseUrl)
const locations = await openLocationSet(db, config.locations, config.preference, log)
const policy = await replicationPolicy(db, config, {
  onError: (err) => log.warn('re-reading namespace policies failed, the last ones read stay in force', { error: describeError(err) }),
})
const worker = createReplicationWorker({ db, locations, createHasher: createNativeHasher, config: config.replication, log, metrics: createMetrics({ db, locations }), targetsFor: policy.targetsFor })
worker.start()
// Jobs queued by any origin sharing the database (PostgreSQL) wake this worker at once.
const stopListening = await listenForCommits(db, JOBS_CHANNEL, () => worker.wake())
// One line on stdout when ready, whatever the log level (scripts and supervisors wait for it).
process.stdout.write(`replication worker ready (${config.locations.length} locations)\n`)
const reconciler = startReconciler(db, policy.targetsFor, {
  intervalMs: config.replication.reconcileIntervalSeconds * 1000,
  // One reconciler per deployment: this worker's or an origin's, whichever holds the lease.
  lease: createLease(db, 'reconciler', processOwnerId(), reconcilerLeaseMs(config.replication.reconcileIntervalSeconds)),
  onResult: (r) => { if (r.jobs > 0) { log.info('reconciler enqueued replication', { ...r }); worker.wake() } },
  onError: (err) => log.error('reconciler failed', { error: describeError(err) }),
})
const stop = async (signal: string) => {
  log.info('stopping', { signal })
  await stopListening()
  await reconciler.stop()
  await worker.stop()
  await policy.close()
  await locations.close()
  await closeDatabase(db)
  process.exit(0)
}
process.once('SIGINT', () => void stop('SIGINT'))
process.once('SIGTERM', () => void stop('SIGTERM'))
