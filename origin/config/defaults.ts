// What Meridian uses when nothing says otherwise. The built-in locations make `npm start` a
// georeplicated registry on one machine: three fs directories standing in for three regions.

import { join } from 'node:path'
import { DEFAULT_PRESIGN_SECONDS } from '../../storage/presign-lifetime.ts'
import type { AuthConfig, LocationConfig, OriginSettings, ReplicationConfig } from './types.ts'

export const DEFAULT_DATA_DIR = './data'

export const DEFAULT_ORIGIN: OriginSettings = {
  host: '127.0.0.1',
  port: 5000,
  deleteEnabled: true,
  publicUrl: null,
  edgeToken: null,
  trustedProxies: [],
  // Every real client sends its request head in one write; 30 s tolerates a very slow link.
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  // Keep it well below the process's file-descriptor limit (`ulimit -n`): uploads hold files too.
  maxConnections: 1_000,
  manifestConcurrency: 4,
  // Sixteen manifests at the 4 MiB limit, or thousands of ordinary ones (a few KiB each).
  manifestBodyBytes: 64 * 1024 * 1024,
  urlSigningKey: null,
  // 20 minutes: outlasts the start of a resumed 2 GiB layer on a 20 Mbit/s link (presign-lifetime.ts).
  presignSeconds: DEFAULT_PRESIGN_SECONDS,
  // A week: an edge down over a long weekend still catches up from the log, not a snapshot.
  changeRetentionHours: 168,
}

export const DEFAULT_REPLICATION: ReplicationConfig = {
  enabled: true,
  workerInProcess: true,
  maxAttempts: 8,
  concurrency: 4,
  leaseSeconds: 60,
  backoffBaseMs: 500,
  // 5 minutes: a location that is down for an hour is retried about a dozen times, not thousands.
  backoffMaxMs: 300_000,
  reconcileIntervalSeconds: 60,
  // A week of finished jobs: the admin API's job list and lag figures; older ones only take space.
  jobRetentionHours: 168,
}

// Access control is on unless switched off (MERIDIAN_AUTH=off): deny by default.
export const DEFAULT_AUTH: AuthConfig = {
  enabled: true,
  service: null,
  issuer: null,
  // distribution's own default: a token that leaks is worth five minutes.
  tokenSeconds: 300,
  loginFailuresPerAccount: 10,
  loginFailuresPerAddress: 30,
}

export function defaultDatabaseUrl(dataDir: string): string {
  return `sqlite:${join(dataDir, 'meridian.db')}`
}

const BUILT_IN = [
  { id: 'us-east', lat: 39.0, lon: -77.5 }, // Northern Virginia
  { id: 'eu-west', lat: 53.3, lon: -6.3 }, // Dublin
  { id: 'ap-south', lat: 19.1, lon: 72.9 }, // Mumbai
] as const

export function defaultLocations(dataDir: string): LocationConfig[] {
  return BUILT_IN.map(({ id, lat, lon }) => ({
    id,
    driver: 'fs',
    params: { root: join(dataDir, 'locations', id) },
    lat,
    lon,
    replicateByDefault: true,
    // fs cannot presign: edges stream these bytes themselves.
    serve: 'proxy',
    readOnly: false,
  }))
}

export function defaultPreference(): string[] {
  return BUILT_IN.map((l) => l.id)
}
