// Builds the storage engine of one configured location. Local drivers load at once; the cloud
// drivers (and their SDKs) load on the location's first operation (storage/lazy-engine.ts).

import type { StorageEngine } from '../storage/engine.ts'
import { createFsEngine } from '../storage/drivers/fs.ts'
import { createMemoryEngine } from '../storage/drivers/memory.ts'
import { lazyEngine } from '../storage/lazy-engine.ts'
import { lazyAzureEngine, lazyS3Engine, lazySwiftEngine } from '../storage/drivers/cloud-engines.ts'
import type { LocationConfig } from './config/types.ts'

export interface EngineContext {
  /**
   * Checked against a local-disk location's root marker (origin/location-roots.ts); without it
   * the fs driver creates its root on first write (tests).
   */
  deployment?: string
  /** Default lifetime of presigned URLs (config origin.presignSeconds); the drivers' own otherwise. */
  presignSeconds?: number
  /** The deployment's URL signing key: required by an fs location with a publicUrl. */
  urlSigningKey?: string | null
}

export type EngineFactory = (location: LocationConfig, context?: EngineContext) => StorageEngine

export const createEngine: EngineFactory = (l, context = {}) => {
  const p = l.params as Record<string, any>
  const presignExpiresIn = context.presignSeconds
  switch (l.driver) {
    case 'fs': return createFsEngine({
      location: l.id, root: p.root, marker: context.deployment ? { location: l.id, deployment: context.deployment } : undefined,
      signedUrls: p.publicUrl ? { publicUrl: p.publicUrl, secret: signingKeyFor(l, context), expiresIn: presignExpiresIn } : undefined,
    })
    case 'memory': return createMemoryEngine({ location: l.id })
    case 's3': return lazyS3Engine(l.id, p, presignExpiresIn)
    case 'azure': return lazyAzureEngine(l.id, p, presignExpiresIn)
    case 'swift': return lazySwiftEngine(l.id, p, presignExpiresIn)
    case 'gcs': return lazyEngine(l.id, 'gcs', async () => (await import('../storage/drivers/gcs.ts')).createGcsEngine({
      location: l.id, bucket: p.bucket, projectId: p.projectId, keyFilename: p.keyFilename, apiEndpoint: p.apiEndpoint, prefix: p.prefix, presignExpiresIn,
    }))
    default: throw new Error(`location ${l.id}: driver ${l.driver} is not available in this build`)
  }
}

/** A disk that names a public URL redirects with signed URLs: without the key it could not. */
function signingKeyFor(l: LocationConfig, context: EngineContext): string {
  if (!context.urlSigningKey) throw new Error(`location ${l.id}: params.publicUrl needs the deployment's URL signing key (origin/url-signing-key.ts)`)
  return context.urlSigningKey
}
