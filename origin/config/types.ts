// The origin's configuration, as loadConfig() returns it: every default filled in, every id
// cross-checked, every secret already substituted. docs/configuration.md documents each field.

export type DriverName = 'fs' | 's3' | 'azure' | 'gcs' | 'swift' | 'memory'

export const DRIVER_NAMES: readonly DriverName[] = ['fs', 's3', 'azure', 'gcs', 'swift', 'memory']

export interface LocationConfig {
  /** `[a-z0-9][a-z0-9-_]{0,62}`; stored in placement rows, so renaming one orphans its placements. */
  id: string
  driver: DriverName
  /** Driver parameters, validated and normalised per driver (origin/config/drivers.ts). */
  params: Record<string, unknown>
  /** Coordinates the edge measures client distance against: -90..90 / -180..180. */
  lat: number
  lon: number
  /** A "default location": every blob is replicated to it. */
  replicateByDefault: boolean
  /** How edges serve pulls: 307 to a presigned URL, or stream the bytes themselves. */
  serve: 'redirect' | 'proxy'
  /** Never receives pushes or replication; still served from while it holds a blob. */
  readOnly: boolean
}

export interface NamespacePolicy {
  /** First path segment of repository names ('acme' for 'acme/app'). */
  namespace: string
  /** Replicate there too, on top of the default locations. */
  extraLocations: string[]
  /** Location id globs ('eu-*'); blobs of this namespace are never placed elsewhere. null: anywhere. */
  residency: string[] | null
  /**
   * Accept image indexes whose child manifests are not in the repository (mirrors that copy one
   * platform). Absent: false. Config file only; the admin policy API sets replication fields.
   */
  allowSparseIndexes?: boolean
}

export interface ReplicationConfig {
  enabled: boolean
  /** Run the replication worker inside the origin process (false: a separate worker does). */
  workerInProcess: boolean
  /** Attempts before a job is dead-lettered. */
  maxAttempts: number
  /** Jobs copied at once by one worker. */
  concurrency: number
  /** A claimed job is re-claimable after this long without completion (crash recovery). */
  leaseSeconds: number
  /** Retry delay: min(backoffMaxMs, backoffBaseMs * 2^(attempts-1)), with jitter. */
  backoffBaseMs: number
  backoffMaxMs: number
  /** How often the reconciler looks for blobs whose placements fall short of policy. */
  reconcileIntervalSeconds: number
  /** Hours a finished (done) job is kept for the admin API before it is pruned; 0 keeps them all. */
  jobRetentionHours: number
}

export interface OriginSettings {
  host: string
  port: number
  deleteEnabled: boolean
  /** The externally visible base URL (no trailing slash), or null to derive it from requests. */
  publicUrl: string | null
  /**
   * The shared secret edges send as `Authorization: Bearer <token>` to read the change feed and
   * snapshot; null: the feed answers only while the origin listens on loopback alone.
   */
  edgeToken: string | null
  /**
   * Proxies in front of the origin (edges, load balancers), as CIDRs: their `X-Forwarded-For` is
   * believed for the client's address (the failed-login limit per address). Empty: the TCP peer is.
   */
  trustedProxies: string[]
  /** Time a client has to send a request's headers (origin/http-limits.ts). */
  headersTimeoutMs: number
  /** A connection silent this long is closed; a slow but moving upload never is. */
  idleTimeoutMs: number
  /** Connections held at once; more are closed on accept, with a warning in the log. */
  maxConnections: number
  /** Manifest PUTs parsed, validated and stored at once; more wait their turn (origin/slots.ts). */
  manifestConcurrency: number
  /** Bytes of manifest bodies held while they arrive, all requests together (origin/budget.ts). */
  manifestBodyBytes: number
  /**
   * The deployment's key for signed local-disk URLs (storage/signed-url.ts); every origin and edge
   * of a deployment uses the same. null: kept in `<dataDir>/url-signing.key`, made on first need.
   */
  urlSigningKey: string | null
  /** Lifetime of presigned and signed URLs, in seconds (storage/presign-lifetime.ts). */
  presignSeconds: number
  /**
   * Changes older than this are pruned from the change log, hourly (origin/retention.ts):
   * an edge that was away longer rebuilds its index from the snapshot. 0 keeps the log whole.
   */
  changeRetentionHours: number
}

export interface AuthConfig {
  /** Access control (docs/access-control.md). Off: every request is let through, as before it existed. */
  enabled: boolean
  /** The `service` of challenges and the `aud` of tokens. null: host[:port] of the origin's public URL. */
  service: string | null
  /** The `iss` of tokens. null: "meridian:" + the service. */
  issuer: string | null
  /** Lifetime of issued registry tokens, in seconds (>= 60). */
  tokenSeconds: number
  /** Failed logins per account within 15 minutes before the token endpoint refuses that account. */
  loginFailuresPerAccount: number
  /** Failed logins per client address within 15 minutes before that address is refused. */
  loginFailuresPerAddress: number
}

export interface MeridianConfig {
  /** Absolute. */
  dataDir: string
  origin: OriginSettings
  /** 'sqlite:<absolute path>' or 'sqlite::memory:', or a postgres:// / postgresql:// URL. */
  databaseUrl: string
  locations: LocationConfig[]
  /** Ordered location ids; the first writable one receives pushes. */
  preference: string[]
  namespaces: NamespacePolicy[]
  replication: ReplicationConfig
  auth: AuthConfig
}

export interface LoadedConfig {
  config: MeridianConfig
  /** Things that are allowed but probably not meant (ignored keys, missing coordinates, ...). */
  warnings: string[]
}
