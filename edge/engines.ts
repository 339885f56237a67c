// The storage engine of each location an edge serves from, built from its edge config. Portable
// drivers only: S3 (also R2, Ceph RGW, MinIO), Azure Blob, and `signed-url` for a local-disk
// location (redirects to, or reads through, the signed URLs of the origin that owns the disk).
// The cloud SDKs load on a location's first use (storage/lazy-engine.ts).

import type { StorageEngine } from '../storage/engine.ts'
import { lazyEngine } from '../storage/lazy-engine.ts'
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
    case 's3': return lazyEngine(l.id, 's3', async () => (await import('../storage/drivers/s3.ts')).createS3Engine({
      location: l.id, bucket: p.bucket, region: p.region ?? 'us-east-1', endpoint: p.endpoint,
      forcePathStyle: p.forcePathStyle, prefix: p.prefix, presignExpiresIn: context.presignSeconds,
      credentials: p.accessKeyId ? { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey } : undefined,
    }))
    case 'azure': return lazyEngine(l.id, 'azure', async () => (await import('../storage/drivers/azure.ts')).createAzureEngine({
      location: l.id, container: p.container, connectionString: p.connectionString, accountName: p.accountName,
      accountKey: p.accountKey, sasToken: p.sasToken, endpoint: p.endpoint, prefix: p.prefix, presignExpiresIn: context.presignSeconds,
    }))
  }
}
