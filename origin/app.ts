// The origin's HTTP API (distribution-spec v1.1). A factory: everything it needs comes in deps.

import { Hono } from 'hono'
import type { Db } from '../db/client.ts'
import type { HasherFactory } from '../oci/digest.ts'
import { ociError, renderError, isOciError } from '../oci/errors.ts'
import type { LocationSet } from './locations.ts'
import { describeError, silentLogger, type Logger } from './log.ts'
import { createHashCache, type HashCache } from './uploads/hash-cache.ts'
import { createSlots, type Slots } from './slots.ts'
import { createBudget, type Budget } from './budget.ts'
import { baseRoutes } from './routes/base.ts'
import { blobRoutes } from './routes/blobs.ts'
import { uploadRoutes } from './routes/uploads.ts'
import { manifestRoutes } from './routes/manifests.ts'
import { tagRoutes } from './routes/tags.ts'
import { catalogRoutes } from './routes/catalog.ts'
import { referrerRoutes } from './routes/referrers.ts'

export interface OriginDeps {
  db: Db
  locations: LocationSet
  /** Native hashes on Node (origin/hasher.ts). */
  createHasher: HasherFactory
  /** DELETE of blobs and manifests; when false they answer 405 UNSUPPORTED. */
  deleteEnabled?: boolean
  /** Locations a blob held by repositories of these namespaces must be replicated to (policy). */
  replicationTargets?: (namespaces: string[]) => string[]
  /** Whether pushes to this repository may be written to that location (residency). */
  mayWrite?: (repository: string, locationId: string) => boolean
  /** Whether this repository accepts image indexes whose children it lacks (default: never). */
  allowsSparseIndexes?: (repository: string) => boolean
  log?: Logger
  hashCache?: HashCache
  /** Called after a blob or manifest is committed (wakes the in-process replication worker). */
  onCommit?: () => void
  /** Called when a push lands on a location other than the preferred one. */
  onFallback?: (preferred: string, used: string) => void
  /** Upload sessions with a chunk being written by this app (one at a time per session). */
  uploadsInProgress?: Set<string>
  /** Manifest PUTs parsed, validated and stored at once (config origin.manifestConcurrency). */
  manifestSlots?: Slots
  /** Bytes of manifest bodies held in memory at once (config origin.manifestBodyBytes). */
  manifestBodyBudget?: Budget
}

export type ResolvedDeps = Required<OriginDeps>

export type OriginEnv = { Variables: { deps: ResolvedDeps; requestId: string } }

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

  // distribution-spec end-1 is `GET /v2/` (what docker and skopeo ping); `/v2` answers too.
  app.route('/v2/', baseRoutes)
  app.route('/v2', baseRoutes)
  app.route('/v2', catalogRoutes)
  app.route('/v2', uploadRoutes)
  app.route('/v2', blobRoutes)
  app.route('/v2', manifestRoutes)
  app.route('/v2', tagRoutes)
  app.route('/v2', referrerRoutes)

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
