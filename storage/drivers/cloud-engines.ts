// The S3 and Azure engines of a location, from its validated `params` (origin/config/drivers.ts),
// loaded on first use (storage/lazy-engine.ts): one mapping for the origin (origin/engines.ts)
// and the edge (edge/engines.ts). Portable: both SDKs run on Workers, Bun, Deno and Node.

import type { StorageEngine } from '../engine.ts'
import { lazyEngine } from '../lazy-engine.ts'

type Params = Record<string, any>

export function lazyS3Engine(location: string, p: Params, presignExpiresIn?: number): StorageEngine {
  return lazyEngine(location, 's3', async () => (await import('./s3.ts')).createS3Engine({
    location, bucket: p.bucket, region: p.region ?? 'us-east-1', endpoint: p.endpoint,
    forcePathStyle: p.forcePathStyle, prefix: p.prefix, presignExpiresIn,
    credentials: p.accessKeyId ? { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey } : undefined,
  }))
}

/** origin/config/drivers.ts has checked that exactly one way to name the account is given. */
export function lazyAzureEngine(location: string, p: Params, presignExpiresIn?: number): StorageEngine {
  return lazyEngine(location, 'azure', async () => (await import('./azure.ts')).createAzureEngine({
    location, container: p.container, connectionString: p.connectionString, accountName: p.accountName,
    accountKey: p.accountKey, sasToken: p.sasToken, endpoint: p.endpoint, prefix: p.prefix, presignExpiresIn,
  }))
}
