// The storage engine of each location an edge serves from, built from its edge config. Portable
// drivers only: S3 (also R2, Ceph RGW, MinIO), Azure Blob, OpenStack Swift, and `signed-url` for
// a local-disk location (redirects to, or reads through, the signed URLs of the origin that owns
// the disk).
// The cloud SDKs load on a location's first use (storage/lazy-engine.ts).

import type { StorageEngine } from '../storage/engine.ts'
import { lazyAzureEngine, lazyS3Engine, lazySwiftEngine } from '../storage/drivers/cloud-engines.ts'
import { createMemoryEngine } from '../storage/drivers/memory.ts'
import { createSignedUrlEngine } from '../storage/drivers/signed-url.ts'
import { EdgeConfigError, type EdgeLocationConfig } from './config.ts'

export interface EdgeEngineContext {
  /** The deployment's URL signing key (signed-url locations). */
  urlSigningKey: string | null
  presignSeconds: number
  /** How signed-url locations are read when proxied (the Node edge passes one whose answers it can pipe). */
  fetch?: typeof fetch
}

export function createEdgeEngine(l: EdgeLocationConfig, context: EdgeEngineContext): StorageEngine {
  const p = l.params as Record<string, any>
  switch (l.driver) {
    case 'signed-url':
      if (!context.urlSigningKey) throw new EdgeConfigError(`locations ${l.id}: a signed-url location needs the deployment's URL signing key (MERIDIAN_URL_SIGNING_KEY)`)
      if (typeof p.publicUrl !== 'string') throw new EdgeConfigError(`locations ${l.id}: params.publicUrl (the URL of the origin that owns the disk) is required`)
      return createSignedUrlEngine({ location: l.id, publicUrl: p.publicUrl, secret: context.urlSigningKey, expiresIn: context.presignSeconds, ...(context.fetch ? { fetch: context.fetch } : {}) })
    case 'memory': return createMemoryEngine({ location: l.id })
    case 's3': return lazyS3Engine(l.id, p, context.presignSeconds)
    case 'azure': return lazyAzureEngine(l.id, p, context.presignSeconds)
    case 'swift': return lazySwiftEngine(l.id, p, context.presignSeconds)
  }
}
