// The edge (ARCHITECTURE §1, §5 Pull): the portable pull layer over this region's index, blobs
// served from the nearest location that holds them, writes and index misses handed to the
// origin. A factory: the runtime entry (edge/entry/*) gives it the index, the locations, the
// locator chain and how to find the TCP peer; nothing here is runtime-specific.

import { Hono, type Context } from 'hono'
import { ociError, renderError, isOciError } from '../oci/errors.ts'
import { API_VERSION, API_VERSION_HEADER, createPullRoutes } from '../oci/pull/routes.ts'
import { createMatchCachingRouter } from '../oci/pull/match-cache.ts'
import type { ReadModel } from '../oci/pull/read-model.ts'
import { describeError, silentLogger, type Logger } from '../storage/log.ts'
import type { Locate, LocateInput, Position } from './geo/locate.ts'
import { createLocationHealth, type LocationHealth } from './health.ts'
import { createOriginClient } from './origin-client.ts'
import { planRoute, type EdgeLocation } from './route-plan.ts'
import { serveBlobAtEdge, SERVED_FROM_HEADER } from './serve-blob.ts'
import { createEdgeMetrics, type IndexStatus } from './metrics.ts'
import { debugRoutes } from './debug-routes.ts'
import { createReadProbe } from './probe.ts'
import { cachedFor } from './timing.ts'
import { createEdgeGuard, warnIfOriginHasAuth, type EdgeAuth } from './auth.ts'
import { TOKEN_PATH } from '../oci/auth/types.ts'

export const GEO_SOURCE_HEADER = 'Meridian-Geo-Source'

export interface EdgeDeps {
  /** This region's index. */
  model: ReadModel
  /** How the index is doing (position, lag): the status endpoint and metrics. */
  indexStatus?: () => Promise<IndexStatus>
  origin: { url: string; publicUrl?: string; fetch?: typeof fetch }
  locations: EdgeLocation[]
  /** The locator chain (edge/geo); `home` answers when it does not. */
  locate: Locate
  home: Position
  /** The TCP peer's address (Hono's getConnInfo per runtime), or null where there is none. */
  peer?: (c: Context) => string | null
  /** Client networks that are always proxied, never redirected. */
  mustProxy?: (input: LocateInput) => boolean
  /** The origin's view of each location's health (the feed's location.health, kept by the index):
   * a location the origin cannot read is not used either. */
  originHealth?: () => Promise<Array<{ location: string; readable: boolean }>>
  /** How often a location is probed before clients are redirected to it (0: before every redirect). */
  probeIntervalMs?: number
  /** Lifetime of presigned redirect URLs. */
  presignSeconds?: number
  proxyTimeoutMs?: number
  health?: LocationHealth
  log?: Logger
  /** An index that has not heard from the origin for this long, or lags it by more, is stale: tag
   * reads (the only mutable answers) are asked of the origin first, the index answering only if
   * the origin cannot. Default 120 s (a Workers index syncs once a minute). */
  staleAfterSeconds?: number
  /** Bearer token of the debug endpoints; null: they answer 404. */
  adminToken?: string | null
  /** Access control (tokens verified against the origin's JWKS). null: off, as configured (a warning
   * is logged if the origin turns out to have it on); absent: off (tests of the app alone). */
  auth?: EdgeAuth | null
}

export function createEdgeApp(deps: EdgeDeps): Hono {
  const log = deps.log ?? silentLogger
  const health = deps.health ?? createLocationHealth()
  const origin = createOriginClient(deps.origin)
  const locations = new Map(deps.locations.map((l) => [l.id, l]))
  const peerOf = deps.peer ?? (() => null)
  const metrics = createEdgeMetrics()
  const probe = createReadProbe({
    health, intervalMs: deps.probeIntervalMs,
    onDown: (id, err) => log.warn('location failed its probe; not redirecting to it for a while', { location: id, error: describeError(err) }),
  })
  // The origin's health hints, read at most once a second.
  const originHealth = deps.originHealth
  const downAtOrigin = originHealth
    ? cachedFor(1000, async () => new Set((await originHealth()).filter((h) => !h.readable).map((h) => h.location)))
    : async () => new Set<string>()
  // Pulls repeat the same few paths: their route matches are remembered (oci/pull/match-cache.ts).
  const app = new Hono({ router: createMatchCachingRouter() })

  /** A read the index cannot answer, answered by the origin; never cached. */
  async function askOrigin(c: Context): Promise<Response> {
    metrics.missed()
    const res = await origin.forward(c.req.raw, peerOf(c))
    const answered = new Response(res.body, res)
    answered.headers.set(SERVED_FROM_HEADER, 'origin')
    return answered
  }

  async function locateClient(c: Context): Promise<{ input: LocateInput; position: Position }> {
    const input: LocateInput = { request: c.req.raw, peer: peerOf(c) }
    let position: Position | null = null
    try {
      position = await deps.locate(input)
    } catch (err) {
      log.warn('locator failed; using the home coordinates', { error: describeError(err) })
    }
    return { input, position: position ?? deps.home }
  }

  async function planFor(c: Context, digest: string) {
    const { input, position } = await locateClient(c)
    const [present, originDown] = await Promise.all([deps.model.placements(digest), downAtOrigin()])
    const plan = planRoute({ present, locations, client: position, health, originDown, mustProxy: deps.mustProxy?.(input) ?? false })
    return { position, present, plan }
  }

  app.route('/', debugRoutes({
    adminToken: deps.adminToken ?? null,
    explain: async (c, digest) => {
      const { position, present, plan } = await planFor(c, digest)
      return {
        client: position, present,
        order: plan.steps.map((s) => ({ location: s.location.id, distanceKm: Math.round(s.distanceKm), how: s.how })),
        skipped: plan.skipped, then: 'origin',
      }
    },
    status: async () => ({ index: deps.indexStatus ? await deps.indexStatus() : null, locationsDown: health.down(), locationsDownAtOrigin: [...await downAtOrigin()] }),
    metrics: async () => metrics.render(deps.indexStatus ? await deps.indexStatus() : null, deps.locations.map((l) => ({ id: l.id, up: health.isUp(l.id) }))),
  }))

  // Until its first snapshot is loaded the index knows nothing: every read goes to the origin
  // (a catalog or referrers list from an empty index would be wrong, not missing). Once ready, an
  // index stays ready, so this costs one status read per request only while starting.
  let ready = deps.indexStatus === undefined
  const isReady = async () => {
    if (!ready) ready = (await deps.indexStatus!()).ready
    return ready
  }

  // A stale index (its follower cut off from the origin, a cron that stopped) must not keep serving
  // old tags as if current: tag reads go to the origin first while it is stale. Status is read at
  // most once a second.
  const staleAfterMs = (deps.staleAfterSeconds ?? 120) * 1000
  const indexStatus = deps.indexStatus
  const isStale = indexStatus
    ? cachedFor(1000, async () => {
      const s = await indexStatus()
      // An index that loaded its snapshot and never got a feed page since last heard at the snapshot.
      const heardAt = s.lastSyncAt ?? s.snapshotAt ?? null
      return s.lagSeconds * 1000 > staleAfterMs || (heardAt !== null && Date.now() - heardAt > staleAfterMs)
    })
    : async () => false

  if (deps.auth) mountAccessControl(deps.auth)
  else if (deps.auth === null) void warnIfOriginHasAuth(origin, log)

  app.on(['GET', 'HEAD'], '/v2/*', async (c, next) => {
    if (await isReady()) return next()
    return askOrigin(c)
  })
  /** The origin's answer when it gives one (not a 5xx); else `next()`, the edge's own. */
  async function originFirst(c: Context, next: () => Promise<void>, unanswered: string): Promise<Response | void> {
    try {
      const res = await askOrigin(c)
      if (res.status < 500) return res
      await res.body?.cancel()
    } catch (err) {
      log.warn(unanswered, { error: describeError(err) })
    }
    return next()
  }
  const tagRead = async (c: Context, next: () => Promise<void>) => {
    if (c.req.param('reference')?.includes(':') || !(await isStale())) return next()
    return originFirst(c, next, 'index is stale and the origin did not answer; serving from the index')
  }
  app.on(['GET', 'HEAD'], '/v2/:name{.+}/manifests/:reference', tagRead)
  app.on(['GET', 'HEAD'], '/v2/:name{.+}/tags/list', tagRead)

  /**
   * The guard first, on every /v2 request: nothing below it (the index, a presign, a location's
   * bytes, the origin) is reached by a request it refused. Writes it lets through are verified
   * again by the origin, which gets the client's Authorization.
   */
  function mountAccessControl(auth: EdgeAuth) {
    const forward = (c: Context) => origin.forward(c.req.raw, peerOf(c))
    // Visibility the index is not sure of (no snapshot yet, or stale: a repository made private
    // since may still be listed public) is the origin's to decide: a request without a token goes
    // there whole, and gets the origin's own answer (public content, or the same challenge).
    const fresh = async () => (await isReady()) && !(await isStale())
    const guard = createEdgeGuard({ ...auth, isPublic: async (repository) => (await fresh()) && auth.isPublic(repository) }, origin, log)
    const anonymousWhileUnsure = async (c: Context, next: () => Promise<void>) => {
      if (/^bearer\s/i.test(c.req.header('authorization') ?? '') || (await fresh())) return next()
      // If the origin cannot say either, the guard decides with nothing public (a 401 challenge).
      return originFirst(c, next, 'index is not sure of visibility and the origin did not answer')
    }
    // The token endpoint is the origin's (for deployments whose public hostname is an edge).
    app.on(['GET', 'POST'], TOKEN_PATH, forward)
    app.on(['GET', 'HEAD'], ['/v2', '/v2/*'], anonymousWhileUnsure)
    app.use('/v2', guard)
    app.use('/v2/*', guard)
    // Only the origin knows grants: it filters the catalog to what the caller may pull.
    app.on(['GET', 'HEAD'], '/v2/_catalog', forward)
  }

  app.route('/', createPullRoutes({
    model: deps.model,
    async serveBlob(c, request) {
      const { position, plan } = await planFor(c, request.blob.digest)
      c.header(GEO_SOURCE_HEADER, position.source)
      return serveBlobAtEdge(c, request, {
        plan, origin, health, probe, log,
        presignSeconds: deps.presignSeconds ?? 1200,
        proxyTimeoutMs: deps.proxyTimeoutMs ?? 10_000,
        onServed: (via, how) => metrics.served(via, how),
      })
    },
    // Not in this region's index (yet): the origin answers. Misses are never cached.
    onMiss: (c) => askOrigin(c),
  }))

  // Writes go to the origin, streamed.
  app.on(['POST', 'PUT', 'PATCH', 'DELETE'], '/v2/*', (c) => origin.forward(c.req.raw, peerOf(c)))

  app.notFound(() => withApiVersion(renderError(ociError('NOT_FOUND'))))
  app.onError((err, c) => {
    if (!isOciError(err) || err.status >= 500) log.error('edge request failed', { method: c.req.method, path: c.req.path, error: describeError(err) })
    return withApiVersion(renderError(err, c.req.method))
  })
  return app
}

function withApiVersion(res: Response): Response {
  res.headers.set(API_VERSION_HEADER, API_VERSION)
  return res
}
