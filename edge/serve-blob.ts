// A blob GET at the edge (ARCHITECTURE §4.4 "the edge never lies"): the planned locations in
// order — a 307 to a short-lived presigned URL (only to a location that answered a recent probe),
// or the bytes streamed through (Range → 206) — then the origin. A location that errs or times out is marked down and the next is tried; one
// whose bytes are missing is skipped. Never a redirect to a location the index does not list,
// never a 404 while the origin has the blob.

import type { Context } from 'hono'
import { blobBytesResponse, type BlobRequest } from '../oci/pull/routes.ts'
import { blobKey } from '../storage/keys.ts'
import { describeError, type Logger } from '../storage/log.ts'
import type { LocationHealth } from './health.ts'
import type { OriginClient } from './origin-client.ts'
import type { RoutePlan } from './route-plan.ts'
import type { ReadProbe } from './probe.ts'
import { withTimeout } from './timing.ts'

export const SERVED_FROM_HEADER = 'Meridian-Served-From'

export interface ServeBlobContext {
  plan: RoutePlan
  origin: OriginClient
  health: LocationHealth
  /** Checks a location answers before a client is redirected to it (edge/probe.ts). */
  probe: ReadProbe
  log: Logger
  presignSeconds: number
  /** How long a proxied location may take to start answering before the next is tried. */
  proxyTimeoutMs: number
  onServed?: (via: string, how: 'redirect' | 'proxy' | 'origin') => void
}

export async function serveBlobAtEdge(c: Context, request: BlobRequest, ctx: ServeBlobContext): Promise<Response> {
  const key = blobKey(request.blob.digest)
  for (const step of ctx.plan.steps) {
    const { location } = step
    try {
      if (step.how === 'redirect') {
        await ctx.probe(location)
        if (!ctx.health.isUp(location.id)) continue
        const url = await location.engine.presign!(key, { expiresIn: ctx.presignSeconds })
        if (url) {
          ctx.onServed?.(location.id, 'redirect')
          c.header(SERVED_FROM_HEADER, location.id)
          // The URL expires: no cache may keep the redirect.
          c.header('Cache-Control', 'no-store')
          return c.redirect(url, 307)
        }
      }
      const got = await withTimeout(ctx.proxyTimeoutMs, (signal) => location.engine.get(key, { range: request.range ?? undefined, signal }))
      if (!got) {
        ctx.log.warn('index lists a placement whose bytes are missing; trying the next', { digest: request.blob.digest, location: location.id })
        continue
      }
      ctx.health.markUp(location.id)
      ctx.onServed?.(location.id, 'proxy')
      c.header(SERVED_FROM_HEADER, location.id)
      return blobBytesResponse(c, request, got.body)
    } catch (err) {
      ctx.health.markDown(location.id)
      ctx.log.warn('location failed at the edge; trying the next', { digest: request.blob.digest, location: location.id, error: describeError(err) })
    }
  }
  // Last: the origin, which opens the bytes wherever they are (or answers BLOB_UNKNOWN itself).
  const headers: Record<string, string> = {}
  const range = c.req.header('range')
  if (range) headers.range = range
  const authorization = c.req.header('authorization')
  if (authorization) headers.authorization = authorization
  const res = await ctx.origin.get(`/v2/${request.repository}/blobs/${request.blob.digest}`, headers)
  ctx.onServed?.('origin', 'origin')
  const out = new Response(res.body, res)
  out.headers.set(SERVED_FROM_HEADER, 'origin')
  return out
}
