// The S3, Azure and Swift engines of a location, from its validated `params` (origin/config/drivers.ts),
// loaded on first use (storage/lazy-engine.ts): one mapping for the origin (origin/engines.ts)
// and the edge (edge/engines.ts). Portable: both SDKs, and the swift driver's fetch, run on
// Workers, Bun, Deno and Node.

import type { StorageEngine } from '../engine.ts'
import { lazyEngine } from '../lazy-engine.ts'
import type { SwiftAuth } from './swift-auth.ts'

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

/** origin/config/swift-params.ts has checked which credentials go together. */
export function lazySwiftEngine(location: string, p: Params, presignExpiresIn?: number): StorageEngine {
  return lazyEngine(location, 'swift', async () => (await import('./swift.ts')).createSwiftEngine({
    location, container: p.container, auth: swiftAuthOf(p), storageUrl: p.storageUrl, prefix: p.prefix,
    segmentContainer: p.segmentContainer, segmentSize: p.segmentSize, tempUrlKey: p.tempUrlKey, presignExpiresIn,
  }))
}

/** Undefined without a password or secret: an edge's copy, which reads through temp URLs. */
function swiftAuthOf(p: Params): SwiftAuth | undefined {
  if (p.password === undefined && p.applicationCredentialSecret === undefined) return undefined
  if (p.authVersion === 1) return { version: 1, authUrl: p.authUrl, user: p.user, key: p.password }
  const common = { version: 3 as const, authUrl: p.authUrl, region: p.region, interface: p.interface, userId: p.userId, userDomainName: p.userDomainName, userDomainId: p.userDomainId }
  if (p.applicationCredentialSecret !== undefined) {
    return { ...common, method: 'application_credential', applicationCredentialId: p.applicationCredentialId, applicationCredentialName: p.applicationCredentialName, applicationCredentialSecret: p.applicationCredentialSecret, username: p.user }
  }
  return {
    ...common, method: 'password', username: p.user, password: p.password,
    projectName: p.projectName, projectId: p.projectId, projectDomainName: p.projectDomainName, projectDomainId: p.projectDomainId,
  }
}
