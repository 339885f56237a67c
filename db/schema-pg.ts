// The same tables as db/schema.ts, declared for PostgreSQL: drizzle-kit generates
// db/migrations-pg from this file (drizzle.pg.config.ts). Queries use db/schema.ts on both engines;
// db/schema-parity.test.ts checks that the two declare the same tables, columns, keys and indexes.
// Integers are bigint (millisecond times and sizes pass 2^31); booleans stay 0/1 integers, as SQLite
// stores them, so a row reads back the same on both.
//
// Invariant (ARCHITECTURE §4.1): a placement row in state 'present' exists only after the bytes
// were written to that location and verified while streaming.

import { pgTable, text, bigint, bigserial, customType, primaryKey, index, uniqueIndex } from 'drizzle-orm/pg-core'

/** SQLite's blob: the driver hands both engines' bytes back as a Buffer. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' })

export const repositories = pgTable('repositories', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
})

/** A blob known to the registry: its bytes are present in at least one location. */
export const blobs = pgTable('blobs', {
  digest: text('digest').primaryKey(),
  size: bigint('size', { mode: 'number' }).notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
})

/** Which repository may serve which blob (pushed or mounted there). */
export const repositoryBlobs = pgTable('repository_blobs', {
  repositoryId: bigint('repository_id', { mode: 'number' }).notNull().references(() => repositories.id),
  digest: text('digest').notNull().references(() => blobs.digest),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.repositoryId, t.digest] }), index('repository_blobs_digest').on(t.digest)])

/** A manifest in a repository. The payload is kept here too so reads need no storage trip. */
export const manifests = pgTable('manifests', {
  repositoryId: bigint('repository_id', { mode: 'number' }).notNull().references(() => repositories.id),
  digest: text('digest').notNull(),
  mediaType: text('media_type').notNull(),
  size: bigint('size', { mode: 'number' }).notNull(),
  payload: bytea('payload').notNull(),
  subjectDigest: text('subject_digest'),
  artifactType: text('artifact_type'),
  annotations: text('annotations'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.repositoryId, t.digest] }), index('manifests_subject').on(t.repositoryId, t.subjectDigest)])

/** Blobs and child manifests a manifest references (used to refuse dangling references). */
export const manifestReferences = pgTable('manifest_references', {
  repositoryId: bigint('repository_id', { mode: 'number' }).notNull(),
  manifestDigest: text('manifest_digest').notNull(),
  targetDigest: text('target_digest').notNull(),
  kind: text('kind', { enum: ['blob', 'manifest'] }).notNull(),
}, (t) => [primaryKey({ columns: [t.repositoryId, t.manifestDigest, t.targetDigest] }), index('manifest_references_target').on(t.repositoryId, t.targetDigest)])

export const tags = pgTable('tags', {
  repositoryId: bigint('repository_id', { mode: 'number' }).notNull().references(() => repositories.id),
  name: text('name').notNull(),
  digest: text('digest').notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.repositoryId, t.name] }), index('tags_digest').on(t.repositoryId, t.digest)])

/** A durable upload session: parts live in `location` under uploads/<id>/ (storage/keys.ts). */
export const uploads = pgTable('uploads', {
  id: text('id').primaryKey(),
  repositoryId: bigint('repository_id', { mode: 'number' }).notNull().references(() => repositories.id),
  location: text('location').notNull(),
  offset: bigint('offset', { mode: 'number' }).notNull(),
  parts: bigint('parts', { mode: 'number' }).notNull(),
  /**
   * JSON array: the nonce of each stored part, in order (part i is uploads/<id>/<i>.<nonce i>).
   * Recorded in the same update that advances the offset, so of two writers racing for one
   * offset only the winner's part is ever named. '' for parts stored before nonces existed.
   */
  partNonces: text('part_nonces').notNull().default('[]'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
})

/** "Blob D is present and verified in location L" (state 'present'), or known missing. */
export const placements = pgTable('placements', {
  digest: text('digest').notNull(),
  location: text('location').notNull(),
  state: text('state', { enum: ['present', 'missing'] }).notNull(),
  size: bigint('size', { mode: 'number' }).notNull(),
  verifiedAt: bigint('verified_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.digest, t.location] }), index('placements_location').on(t.location, t.state)])

/** Durable work item "copy D into L", unique per (D, L). */
export const replicationJobs = pgTable('replication_jobs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  digest: text('digest').notNull(),
  location: text('location').notNull(),
  state: text('state', { enum: ['pending', 'running', 'done', 'dead'] }).notNull(),
  attempts: bigint('attempts', { mode: 'number' }).notNull().default(0),
  dueAt: bigint('due_at', { mode: 'number' }).notNull(),
  leaseOwner: text('lease_owner'),
  leaseUntil: bigint('lease_until', { mode: 'number' }),
  lastError: text('last_error'),
  sourceLocation: text('source_location'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  finishedAt: bigint('finished_at', { mode: 'number' }),
}, (t) => [uniqueIndex('replication_jobs_digest_location').on(t.digest, t.location), index('replication_jobs_due').on(t.state, t.dueAt)])

/** Per-namespace replication policy set through the admin API (overrides the config file's). */
export const namespacePolicies = pgTable('namespace_policies', {
  namespace: text('namespace').primaryKey(),
  extraLocations: text('extra_locations').notNull(),
  residency: text('residency'),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
})

/** The index change log edges apply in order (ARCHITECTURE §5 "Region index"). */
export const changes = pgTable('changes', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  kind: text('kind').notNull(),
  repository: text('repository'),
  payload: text('payload').notNull(),
  at: bigint('at', { mode: 'number' }).notNull(),
})

/**
 * Deployment-wide facts written once: `deployment_id` (a random id made by the first origin that
 * opened this database; fs location markers carry it) and `location_root:<id>` (when that local-disk
 * location's root was set up, so a root found missing later is a vanished volume, not a new one).
 */
export const settings = pgTable('settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
})

// Access control (README "Access control"). Secrets are stored only as salted slow hashes.

/** A user or a robot account (robots: long-lived secrets for CI, named `<namespace>+<name>`). */
export const accounts = pgTable('accounts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull().unique(),
  /** 'user' | 'robot' */
  kind: text('kind').notNull(),
  /** The password's or robot secret's slow salted hash (origin/auth/passwords.ts), never the secret. */
  secretHash: text('secret_hash').notNull(),
  /** Registry-wide admin: every action on every repository, and the admin API. */
  isAdmin: bigint('is_admin', { mode: 'number' }).notNull().default(0),
  disabled: bigint('disabled', { mode: 'number' }).notNull().default(0),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
})

/**
 * What an account may do. `target` is a repository name (`team/app`) or a whole namespace
 * (`team/*`); `actions` a comma-separated subset of pull,push,delete,admin. Absent: nothing (deny by default).
 */
export const grants = pgTable('grants', {
  accountId: bigint('account_id', { mode: 'number' }).notNull().references(() => accounts.id, { onDelete: 'cascade' }),
  target: text('target').notNull(),
  actions: text('actions').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.accountId, t.target] })])

/** Repositories readable anonymously. A repository not listed here is private. Keyed by name, so a
 * repository can be made public before its first push. */
export const publicRepositories = pgTable('public_repositories', {
  repository: text('repository').primaryKey(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
})

/**
 * Token signing keys (JWS, asymmetric). The newest key not retired signs; a retired key keeps
 * verifying (it stays in the JWKS) until `verifyUntil`, past the expiry of the last token it signed.
 */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  privateJwk: text('private_jwk').notNull(),
  publicJwk: text('public_jwk').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  retiredAt: bigint('retired_at', { mode: 'number' }),
  verifyUntil: bigint('verify_until', { mode: 'number' }),
})

/** OAuth2 refresh tokens (token endpoint, grant_type=refresh_token), stored as SHA-256 hashes. */
export const refreshTokens = pgTable('refresh_tokens', {
  tokenHash: text('token_hash').primaryKey(),
  accountId: bigint('account_id', { mode: 'number' }).notNull().references(() => accounts.id, { onDelete: 'cascade' }),
  service: text('service').notNull(),
  clientId: text('client_id'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
}, (t) => [index('refresh_tokens_account').on(t.accountId)])

/**
 * Jobs exactly one process of the deployment runs at a time (the reconciler, the hourly cleanup),
 * whichever origin or worker holds the lease: `owner` until `until` (ms), renewed while it runs.
 */
export const leases = pgTable('leases', {
  name: text('name').primaryKey(),
  owner: text('owner').notNull(),
  until: bigint('until', { mode: 'number' }).notNull(),
})
