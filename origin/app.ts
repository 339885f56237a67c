// The origin's HTTP API (distribution-spec v1.1). A factory: everything it needs comes in deps.

import { Hono, type Context } from 'hono'
import { ociError, renderError, isOciError } from '../oci/errors.ts'
import { describeError, silentLogger } from './log.ts'
import { createHashCache } from './uploads/hash-cache.ts'
import { createSlots } from './slots.ts'
import { createBudget } from './budget.ts'
import type { OriginDeps, OriginEnv, ResolvedDeps } from './deps.ts'

export type { OriginDeps, OriginEnv, ResolvedDeps } from './deps.ts'
import { blobRoutes } from './routes/blobs.ts'
import { uploadRoutes } from './routes/uploads.ts'
import { manifestRoutes } from './routes/manifests.ts'
import { createPullRoutes, blobBytesResponse } from '../oci/pull/routes.ts'
import { createDbReadModel } from '../db/read-model.ts'
import { openBlob } from './blob-reader.ts'
import { createMatchCachingRouter } from '../oci/pull/match-cache.ts'
import { callerOf, createAccessGuard } from '../oci/auth/guard.ts'
import { visibleRepositories } from './auth/grants.ts'
import { createTokenRoutes } from './auth/token-routes.ts'

/**
 * The client's X-Request-Id. Under @hono/node-server (env.incoming) the Node request's parsed
 * headers are read: `c.req.header()` would first build a Web Headers of every request header,
 * which no other part of a manifest or blob HEAD needs. Repeated headers join with ", " both ways.
 */
function clientRequestId(c: Context): string | undefined {
  const incoming = (c.env as { incoming?: { headers?: Record<string, string | string[] | undefined> } } | undefined)?.incoming
  if (!incoming?.headers) return c.req.header('x-request-id')
  const value = incoming.headers['x-request-id']
  return Array.isArray(value) ? value.join(', ') : value
}

/** Sets a header on the finished response in place; c.header() when its headers are immutable. */
function setResponseHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value)
  } catch {
    c.header(name, value)
  }
}

export function createOriginApp(deps: OriginDeps): Hono<OriginEnv> {
  const resolved: ResolvedDeps = {
    deleteEnabled: true,
    replicationTargets: () => [],
    mayWrite: () => true,
    allowsSparseIndexes: () => false,
    log: silentLogger,
    hashCache: createHashCache(),
    onCommit: () => {},
    onFallback: () => {},
    uploadsInProgress: new Set<string>(),
    manifestSlots: createSlots(4),
    manifestBodyBudget: createBudget(64 * 1024 * 1024),
    ...deps,
  }
  const app = new Hono<OriginEnv>({ router: createMatchCachingRouter() })

  app.use('*', async function attachDeps(c, next) {
    const requestId = clientRequestId(c)?.slice(0, 64) ?? crypto.randomUUID()
    c.set('deps', resolved)
    c.set('requestId', requestId)
    await next()
    // Onto the answer's own headers: c.header() after the handler rebuilds the Response around its
    // body (an undici Response and a body stream for every answer, even a 500-byte manifest), which
    // moved @hono/node-server off its one-write path: most of a manifest read's CPU (README).
    setResponseHeader(c, 'X-Request-Id', requestId)
  })

  const { auth } = resolved
  if (auth) {
    // What each request needs is oci/auth/scope.ts's requiredAccess: nothing for the token
    // endpoint, pull on mount's `from=` repository besides push on the target. On both paths, in
    // case a router does not send `/v2` through `/v2/*` (the guard judges a request once).
    const guard = createAccessGuard({ settings: auth.settings, verify: auth.verify, isPublic: auth.isPublic, log: resolved.log })
    app.use('/v2/*', guard)
    app.use('/v2', guard)
    app.route('/', createTokenRoutes({ db: resolved.db, keys: auth.keys, settings: auth.settings, tokenSeconds: auth.tokenSeconds, log: resolved.log, limiter: auth.limiter, ...(auth.address ? { address: auth.address } : {}) }))
  }

  // The read side is the portable pull layer the edge mounts too (oci/pull/routes.ts); the
  // origin reads its own database and opens the bytes itself.
  app.route('/', createPullRoutes({
    model: createDbReadModel(resolved.db),
    async serveBlob(c, request) {
      const got = await openBlob(resolved, request.blob.digest, request.range ?? undefined)
      return blobBytesResponse(c, request, got.body)
    },
    // The catalog scope is everybody's; what it lists is what the caller's account may pull now.
    ...(auth ? {
      async filterCatalog(c, names) {
        const caller = callerOf(c)
        return caller ? await visibleRepositories(resolved.db, caller, names) : []
      },
    } : {}),
  }))
  app.route('/v2', uploadRoutes)
  app.route('/v2', blobRoutes)
  app.route('/v2', manifestRoutes)

  app.notFound((c) => renderError(ociError('NOT_FOUND', { detail: { path: c.req.path } }), c.req.method))
  app.onError(function renderOciError(err, c) {
    if (!isOciError(err) || err.status >= 500) {
      resolved.log.error('request failed', { requestId: c.get('requestId'), method: c.req.method, path: c.req.path, error: describeError(err) })
    }
    const res = renderError(err, c.req.method)
    res.headers.set('Docker-Distribution-API-Version', 'registry/2.0')
    const id = c.get('requestId')
    if (id) res.headers.set('X-Request-Id', id)
    return res
  })
  return app
}
