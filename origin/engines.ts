// Builds the storage engine of one configured location. Local drivers load at once; the cloud
// drivers (and their SDKs) load on the location's first operation (storage/lazy-engine.ts).

import type { StorageEngine } from '../storage/engine.ts'
import { createFsEngine } from '../storage/drivers/fs.ts'
import { createMemoryEngine } from '../storage/drivers/memory.ts'
import { lazyEngine } from '../storage/lazy-engine.ts'
import type { LocationConfig } from './config/types.ts'

/**
 * `deployment`, when known, is checked against a local-disk location's root marker
 * (origin/location-roots.ts); without it the fs driver creates its root on first write (tests).
 */
export type EngineFactory = (location: LocationConfig, context?: { deployment?: string }) => StorageEngine

export const createEngine: EngineFactory = (l, context = {}) => {
  const p = l.params as Record<string, any>
  switch (l.driver) {
    case 'fs': return createFsEngine({ location: l.id, root: p.root, marker: context.deployment ? { location: l.id, deployment: context.deployment } : undefined })
    case 'memory': return createMemoryEngine({ location: l.id })
    case 's3': return lazyEngine(l.id, 's3', async () => (await import('../storage/drivers/s3.ts')).createS3Engine({
      location: l.id, bucket: p.bucket, region: p.region ?? 'us-east-1', endpoint: p.endpoint,
      forcePathStyle: p.forcePathStyle, prefix: p.prefix,
      credentials: p.accessKeyId ? { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey } : undefined,
    }))
    // origin/config/drivers.ts has checked that exactly one way to name the account is given.
    case 'azure': return lazyEngine(l.id, 'azure', async () => (await import('../storage/drivers/azure.ts')).createAzureEngine({
      location: l.id, container: p.container, connectionString: p.connectionString, accountName: p.accountName,
      accountKey: p.accountKey, sasToken: p.sasToken, endpoint: p.endpoint, prefix: p.prefix,
    }))
    case 'gcs': return lazyEngine(l.id, 'gcs', async () => (await import('../storage/drivers/gcs.ts')).createGcsEngine({
      location: l.id, bucket: p.bucket, projectId: p.projectId, keyFilename: p.keyFilename, apiEndpoint: p.apiEndpoint, prefix: p.prefix,
    }))
    default: throw new Error(`location ${l.id}: driver ${l.driver} is not available in this build`)
  }
}
