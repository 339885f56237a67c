// The origin's HTTP API (distribution-spec v1.1). A factory: everything it needs comes in deps.

import { Hono } from 'hono'
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
  const app = new Hono<OriginEnv>()

  app.use('*', async function attachDeps(c, next) {
    const requestId = c.req.header('x-request-id')?.slice(0, 64) ?? crypto.randomUUID()
    c.set('deps', resolved)
    c.set('requestId', requestId)
    await next()
    c.header('X-Request-Id', requestId)
  })

  // The read side is the portable pull layer the edge mounts too (oci/pull/routes.ts); the
  // origin reads its own database and opens the bytes itself.
  app.route('/', createPullRoutes({
    model: createDbReadModel(resolved.db),
    async serveBlob(c, request) {
      const got = await openBlob(resolved, request.blob.digest, request.range ?? undefined)
      return blobBytesResponse(c, request, got.body)
    },
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
