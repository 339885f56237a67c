// The edge on Cloudflare Workers (wrangler.toml: `main`). One edge per isolate, built on the first
// request or cron run and kept: the region index lives in D1 (binding INDEX), read through the
// Sessions API so this isolate never reads behind what it has seen (d1-sessions.ts). No follower
// loop (a Worker cannot hold a long-poll between requests): the Cron Trigger runs syncOnce, which
// bootstraps from the snapshot when the index is new and then applies the feed up to its head.
// Clients are located by Cloudflare itself (request.cf), then trusted CDN headers, then home: no
// IP database is shipped to Workers. The peer is CF-Connecting-IP, which Cloudflare sets.
//
// Settings (README "Running an edge", docs/edge.md): MERIDIAN_EDGE_CONFIG, the edge config
// document as a `[vars]` object or a JSON string; secrets by `wrangler secret put`:
// MERIDIAN_EDGE_TOKEN (the feed credential), MERIDIAN_URL_SIGNING_KEY, MERIDIAN_EDGE_ADMIN_TOKEN;
// MERIDIAN_EDGE_JWKS_URL (a var) replaces auth.jwksUrl. The JWKS is fetched with the Worker's
// fetch, like the feed.

import { getConnInfo } from 'hono/cloudflare-workers'
import { EdgeConfigError, parseEdgeConfigWithEnv, type EdgeConfig } from '../config.ts'
import { openEdge, type RunningEdge } from '../start.ts'
import { syncOnce } from '../index/follow.ts'
import { createSqlIndex } from '../index/sql-index.ts'
import { createLogger, describeError } from '../../storage/log.ts'
import { createBookmarkKeeper, monotonicD1Store, primaryD1Store, type D1WithSessions } from './d1-sessions.ts'

/** D1 refuses rows over 2 MB; larger manifests (the origin takes up to 4 MiB) stay out of the index
 * and are answered by the origin, rather than failing the whole feed page forever. */
const D1_MAX_MANIFEST_BYTES = 1_900_000

export interface WorkerEnv {
  MERIDIAN_EDGE_CONFIG: string | Record<string, unknown>
  MERIDIAN_EDGE_TOKEN?: string
  MERIDIAN_URL_SIGNING_KEY?: string
  MERIDIAN_EDGE_ADMIN_TOKEN?: string
  MERIDIAN_EDGE_JWKS_URL?: string
  INDEX: D1WithSessions
}

/** The parts of ExecutionContext and ScheduledController used (no workers-types dependency). */
interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void
}
interface ScheduledController {
  cron: string
  scheduledTime: number
}

/** The newest D1 bookmark this isolate has seen: module state lives as long as the isolate. */
const bookmarks = createBookmarkKeeper()
let edge: Promise<{ running: RunningEdge; config: EdgeConfig }> | null = null

/** The edge config from `[vars]` (an object, or a JSON string) with the secrets merged in. */
export function edgeConfigFromWorkerEnv(env: Omit<WorkerEnv, 'INDEX'>): EdgeConfig {
  let raw: Record<string, unknown> | undefined
  try {
    raw = typeof env.MERIDIAN_EDGE_CONFIG === 'string' ? JSON.parse(env.MERIDIAN_EDGE_CONFIG) as Record<string, unknown> : env.MERIDIAN_EDGE_CONFIG
  } catch (err) {
    throw new EdgeConfigError(`MERIDIAN_EDGE_CONFIG is not JSON: ${(err as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null) throw new EdgeConfigError('MERIDIAN_EDGE_CONFIG must be set in [vars] (the edge config document: docs/edge.md)')
  return parseEdgeConfigWithEnv(raw, env)
}

/** The isolate's edge, built once; a failed build is retried by the next request. */
function edgeOf(env: WorkerEnv) {
  edge ??= (async () => {
    const config = edgeConfigFromWorkerEnv(env)
    const running = await openEdge(config, {
      store: monotonicD1Store(env.INDEX, bookmarks),
      geoDatabase: null,
      urlSigningKey: env.MERIDIAN_URL_SIGNING_KEY ?? null,
      peer: (c) => getConnInfo(c).remote.address ?? null,
      log: createLogger({ base: { edge: config.region } }),
      follow: false,
      maxManifestBytes: D1_MAX_MANIFEST_BYTES,
    })
    return { running, config }
  })().catch((err: unknown) => {
    edge = null
    throw err
  })
  return edge
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: WaitUntil): Promise<Response> {
    const { running } = await edgeOf(env)
    return running.app.fetch(request, env, ctx as never)
  },

  /** Cron Trigger: bring the D1 index up to the origin's head (or as far as 50 pages go). */
  async scheduled(controller: ScheduledController, env: WorkerEnv): Promise<void> {
    const { config } = await edgeOf(env)
    const log = createLogger({ base: { edge: config.region, cron: controller.cron } })
    // Reads the position from the primary, where the writes go: a replica behind it would make
    // the round ask for (and skip as applied) changes it already has, or miss the snapshot state.
    const index = await createSqlIndex(primaryD1Store(env.INDEX, bookmarks), { maxManifestBytes: D1_MAX_MANIFEST_BYTES })
    try {
      const result = await syncOnce({ index, originUrl: config.origin.url, token: config.origin.token ?? '' })
      log.info('region index synced', { ...result })
    } catch (err) {
      log.warn('region index could not sync with the origin; the next cron run retries', { error: describeError(err) })
      throw err
    }
  },
}
