// What the origin's HTTP app is built from: its dependencies and the Hono environment. A module of
// its own so that routes, uploads and the app import these types without importing each other.

import type { Db } from '../db/client.ts'
import type { HasherFactory } from '../oci/digest.ts'
import type { LocationSet } from './locations.ts'
import type { Logger } from './log.ts'
import type { HashCache } from './uploads/hash-cache.ts'
import type { Slots } from './slots.ts'
import type { Budget } from './budget.ts'
import type { AuthSettings, IsPublic } from '../oci/auth/types.ts'
import type { VerifyToken } from '../oci/auth/verify.ts'
import type { KeyStore } from './auth/signing-keys.ts'
import type { LoginLimiter } from './auth/login-limit.ts'

/** Access control at the origin (docs/access-control.md); origin/auth/origin-auth.ts builds it. */
export interface OriginAuth {
  settings: AuthSettings
  /** Verifies registry tokens against this deployment's signing keys. */
  verify: VerifyToken
  /** Public repositories: pulled anonymously, without a token. */
  isPublic: IsPublic
  /** Signs the token endpoint's tokens and serves the JWKS. */
  keys: KeyStore
  /** Lifetime of issued tokens (config auth.tokenSeconds). */
  tokenSeconds: number
  /** Failed logins per account and per address at the token endpoint. */
  limiter?: LoginLimiter
}

export interface OriginDeps {
  db: Db
  locations: LocationSet
  /** Native hashes on Node (origin/hasher.ts). */
  createHasher: HasherFactory
  /** DELETE of blobs and manifests; when false they answer 405 UNSUPPORTED. */
  deleteEnabled?: boolean
  /** Locations a blob held by repositories of these namespaces must be replicated to (policy). */
  replicationTargets?: (namespaces: string[]) => string[]
  /** Whether pushes to this repository may be written to that location (residency). */
  mayWrite?: (repository: string, locationId: string) => boolean
  /** Whether this repository accepts image indexes whose children it lacks (default: never). */
  allowsSparseIndexes?: (repository: string) => boolean
  log?: Logger
  hashCache?: HashCache
  /** Called after a blob or manifest is committed (wakes the in-process replication worker). */
  onCommit?: () => void
  /** Called when a push lands on a location other than the preferred one. */
  onFallback?: (preferred: string, used: string) => void
  /** Upload sessions with a chunk being written by this app (one at a time per session). */
  uploadsInProgress?: Set<string>
  /** Manifest PUTs parsed, validated and stored at once (config origin.manifestConcurrency). */
  manifestSlots?: Slots
  /** Bytes of manifest bodies held in memory at once (config origin.manifestBodyBytes). */
  manifestBodyBudget?: Budget
  /**
   * Access control: a guard on /v2, the token endpoint and JWKS, a filtered catalog. Absent, the
   * app lets every request through (MERIDIAN_AUTH=off).
   */
  auth?: OriginAuth
}

export type ResolvedDeps = Required<Omit<OriginDeps, 'auth'>> & Pick<OriginDeps, 'auth'>

export type OriginEnv = { Variables: { deps: ResolvedDeps; requestId: string } }
