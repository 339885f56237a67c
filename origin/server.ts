// Wires config → database → locations → app → HTTP server, plus the in-process replication
// worker and reconciler. Used by origin/main.ts, `npm start` and the end-to-end tests, so all
// three run the same registry.

import { serve } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { openDatabase, closeDatabase, type Db } from '../db/client.ts'
import type { MeridianConfig } from './config/types.ts'
import { createOriginApp, type OriginDeps } from './app.ts'
import type { EngineFactory, LocationSet } from './locations.ts'
import { openLocationSet } from './location-roots.ts'
import { createNativeHasher } from './hasher.ts'
import { createLogger, describeError, type Logger } from './log.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { replicationPolicy, type ReplicationPolicy } from './replication/policy.ts'
import { allowsSparseIndexes } from './config/policy.ts'
import { createReplicationWorker, type ReplicationWorker } from './replication/worker.ts'
import { startReconciler } from './replication/reconcile.ts'
import { createAdminRoutes } from './routes/admin.ts'
import { SIGNED_BLOB_PATH, createSignedBlobRoutes } from './routes/signed-blobs.ts'
import { resolveUrlSigningKey } from './url-signing-key.ts'
import { startUploadCleanup } from './uploads/cleanup.ts'
import { startRetention } from './retention.ts'
import { tempGraceFor } from './uploads/sweep-temporary.ts'
import { withIncomingBody } from './uploads/request-body.ts'
import { sendLocalFile } from './send-file.ts'
import { applyHttpLimits, httpServerOptions, listensOnLoopbackOnly } from './http-limits.ts'
import { createSlots } from './slots.ts'
import { createBudget } from './budget.ts'
import { startFeed } from './feed/start.ts'
import { ociError, renderError } from '../oci/errors.ts'
import { createKeyStore } from './auth/signing-keys.ts'
import { createOriginAuth, registryTokenRole } from './auth/origin-auth.ts'
import { ensureAdminAccount, loginInstructions } from './auth/bootstrap.ts'
import { createAccessAdminRoutes } from './auth/admin-routes.ts'
import { startAuthHousekeeping } from './auth/housekeeping.ts'
import type { Hono } from 'hono'
import type { OriginEnv } from './deps.ts'
import { createLease, processOwnerId, reconcilerLeaseMs } from './lease.ts'
import { CHANGES_CHANNEL, JOBS_CHANNEL, listenForCommits } from '../db/notify.ts'

export interface OriginServer {
  url: string
  db: Db
  locations: LocationSet
  deps: OriginDeps
  metrics: Metrics
  policy: ReplicationPolicy
  /** The in-process worker, or null when replication runs elsewhere (or is disabled). */
  worker: ReplicationWorker | null
  close(): Promise<void>
}

export interface StartOptions {
  log?: Logger
  createEngine?: EngineFactory
  /** Overrides config.replication.workerInProcess (tests drive the worker themselves). */
  worker?: boolean
  adminToken?: string | null
  /** On close, how long in-flight requests (an upload mid-PATCH) may run before being cut. */
  graceMs?: number
  /** How long a failed location is tried last before it is tried again (default 15 s; tests shorten it). */
  locationDownSeconds?: number
  /**
   * Where the first start with access control on says how to log in (never the password itself):
   * standard output, not the log, by default.
   */
  print?: (text: string) => void
}

/** Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts the rest. */
async function stopServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections?.()
  const timer = setTimeout(() => server.closeAllConnections?.(), graceMs)
  await closed
  clearTimeout(timer)
}

export async function startOriginServer(config: MeridianConfig, options: StartOptions = {}): Promise<OriginServer> {
  const log = options.log ?? createLogger()
  // Before the database opens: a key file that cannot be made stops the start with nothing to undo.
  const urlSigningKey = await resolveUrlSigningKey(config)
  const db = await openDatabase(config.databaseUrl)
  // Before anything else runs: a password file that cannot be written stops the start here.
  const adminPasswordFile = config.auth.enabled
    ? await ensureAdminAccount(db, config.dataDir, log).catch(async (err: unknown) => { await closeDatabase(db); throw err })
    : null
  const feed = startFeed(db, log)
  const locations = await openLocationSet(db, config.locations, config.preference, log, {
    createEngine: options.createEngine, downSeconds: options.locationDownSeconds, onHealthChange: feed.recordHealth,
    engineContext: { presignSeconds: config.origin.presignSeconds, urlSigningKey },
  })
  const policy = await replicationPolicy(db, config, {
    onError: (err) => log.warn('re-reading namespace policies failed, the last ones read stay in force', { error: describeError(err) }),
  })
  const metrics = createMetrics({ db, locations })
  const runWorker = config.replication.enabled && (options.worker ?? config.replication.workerInProcess)
  const worker = runWorker ? createReplicationWorker({ db, locations, createHasher: createNativeHasher, config: config.replication, log, metrics, targetsFor: policy.targetsFor }) : null
  // Commits by other origins and workers on the same database (PostgreSQL) wake this process's
  // feed long polls and workers at once; this process's own commits do so through onCommit.
  const stopListening: Array<() => Promise<void>> = []
  // A start that fails from here on undoes what it opened, then rethrows.
  const unwind = async (err: unknown): Promise<never> => {
    await Promise.all(stopListening.map((stop) => stop()))
    feed.close()
    await policy.close()
    await locations.close()
    await closeDatabase(db)
    throw err
  }
  try {
    stopListening.push(await listenForCommits(db, CHANGES_CHANNEL, () => feed.notify()))
    stopListening.push(await listenForCommits(db, JOBS_CHANNEL, () => worker?.wake()))
  } catch (err) {
    await unwind(err)
  }
  const deps: OriginDeps = {
    db, locations, log,
    createHasher: createNativeHasher,
    deleteEnabled: config.origin.deleteEnabled,
    replicationTargets: policy.targetsFor,
    mayWrite: policy.mayWrite,
    allowsSparseIndexes: (repository) => allowsSparseIndexes(config, repository),
    onCommit: () => { worker?.wake(); feed.notify() },
    onFallback: (preferred, used) => metrics.pushFallbacks.inc({ preferred, used }),
    manifestSlots: createSlots(config.origin.manifestConcurrency),
    manifestBodyBudget: createBudget(config.origin.manifestBodyBytes),
  }
  const keys = config.auth.enabled ? createKeyStore(db, { tokenSeconds: config.auth.tokenSeconds }) : null
  // Decided from the address actually bound, once listening: a host name is only a name.
  let loopback = false
  // Built once listening: with port 0 and no public URL, the token realm and service name the
  // port. Nothing is served in between (the listen callback and this function's next steps run
  // before any connection is read); the 503 is only a guard.
  let app: Hono<OriginEnv> | null = null
  const buildApp = (url: string): Hono<OriginEnv> => {
    const auth = keys ? createOriginAuth(db, config, keys, url) : undefined
    deps.auth = auth
    const built = createOriginApp(deps)
    const admin = createAdminRoutes({
      db, config, policy, metrics, wake: () => worker?.wake(),
      token: options.adminToken ?? process.env.MERIDIAN_ADMIN_TOKEN ?? null,
      openWithoutToken: () => loopback,
      registryTokenRole: auth ? registryTokenRole(db, auth.verify) : undefined,
    })
    // Accounts, grants, public repositories: behind the admin API's own credential check.
    if (auth) admin.route('/', createAccessAdminRoutes({ db, keys: auth.keys, log }))
    built.route('/admin', admin)
    // Signed URLs of local-disk locations, which edges redirect pulls to (README "Redirects to local disk").
    if (urlSigningKey !== null) built.route(SIGNED_BLOB_PATH, createSignedBlobRoutes({ locations, urlSigningKey, log }))
    built.route('/', feed.routes({ token: config.origin.edgeToken, openWithoutToken: () => loopback }))
    built.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }))
    return built
  }

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({
      // Bodies reach the app without Readable.toWeb's per-chunk copy (uploads/request-body.ts).
      // Local-disk blobs are piped to the socket natively (origin/send-file.ts).
      fetch: async (request, env: { incoming?: unknown; outgoing?: unknown }) => {
        if (!app) return renderError(ociError('UNAVAILABLE', { headers: { 'Retry-After': '1' } }), request.method)
        return sendLocalFile(await app.fetch(withIncomingBody(request, env.incoming), env), env.outgoing)
      },
      hostname: config.origin.host, port: config.origin.port,
      // No whole-request timeout (a layer upload on a slow link may take long), but a header
      // timeout, an idle timeout and a connection cap (origin/http-limits.ts).
      serverOptions: httpServerOptions(config.origin),
    }, () => {
      s.off('error', reject)
      resolve(s as Server)
    })
    // A host that does not resolve, a port in use: a rejected start, not an uncaught exception.
    s.once('error', reject)
  }).catch(unwind)
  applyHttpLimits(server, config.origin, log)
  loopback = listensOnLoopbackOnly([server.address()])
  const { port } = server.address() as AddressInfo
  const host = config.origin.host.includes(':') ? `[${config.origin.host}]` : config.origin.host
  const url = `http://${host}:${port}`
  app = buildApp(url)
  if (adminPasswordFile !== null && deps.auth) {
    (options.print ?? ((text) => process.stdout.write(text)))(loginInstructions(new URL(deps.auth.settings.realm).host, adminPasswordFile))
  }
  worker?.start()
  // Abandoned upload sessions (a day untouched) and orphaned parts go, once an hour (npm run gc).
  // One cleanup and one reconciler per deployment, whichever process holds its lease (origin/lease.ts).
  const owner = processOwnerId()
  const uploadCleanup = startUploadCleanup({ db, locations, log }, {
    intervalMs: 3_600_000, olderThanMs: 24 * 3_600_000, tempGraceMs: tempGraceFor(config.origin.idleTimeoutMs),
    lease: createLease(db, 'upload-cleanup', owner, 2 * 3_600_000 + 60_000),
  })
  const authHousekeeping = keys ? startAuthHousekeeping(db, log) : null
  // The change log and finished jobs are kept a week (by default); older rows go, hourly.
  const retention = startRetention(db, log, { changeRetentionHours: config.origin.changeRetentionHours, jobRetentionHours: config.replication.jobRetentionHours })
  // The reconciler runs beside a worker (here, or in npm run worker), one per deployment.
  const reconciler = runWorker
    ? startReconciler(db, policy.targetsFor, {
      intervalMs: config.replication.reconcileIntervalSeconds * 1000,
      lease: createLease(db, 'reconciler', owner, reconcilerLeaseMs(config.replication.reconcileIntervalSeconds)),
      onResult: (r) => { if (r.jobs > 0) { log.info('reconciler enqueued replication', { ...r }); worker?.wake() } },
      onError: (err) => log.error('reconciler failed', { error: describeError(err) }),
    })
    : null
  return {
    url, db, locations, deps, metrics, policy, worker,
    async close() {
      await Promise.all(stopListening.map((stop) => stop()))
      await reconciler?.stop()
      await authHousekeeping?.stop()
      await retention.stop()
      await uploadCleanup.stop()
      await worker?.stop()
      await policy.close()
      // Long polls answer now (empty) instead of holding the shutdown for their wait.
      feed.close()
      await stopServer(server, options.graceMs ?? 10_000)
      await locations.close()
      await closeDatabase(db)
    },
  }
}
