// The origin's metadata, one drizzle schema. Timestamps are Unix milliseconds.
// Invariant (ARCHITECTURE §4.1): a placement row in state 'present' exists only after the bytes
// were written to that location and verified while streaming.

import { sqliteTable, text, integer, blob, primaryKey, index, uniqueIndex } from 'drizzle-orm/sqlite-core'

export const repositories = sqliteTable('repositories', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  createdAt: integer('created_at').notNull(),
})

/** A blob known to the registry: its bytes are present in at least one location. */
export const blobs = sqliteTable('blobs', {
  digest: text('digest').primaryKey(),
  size: integer('size').notNull(),
  createdAt: integer('created_at').notNull(),
})

/** Which repository may serve which blob (pushed or mounted there). */
export const repositoryBlobs = sqliteTable('repository_blobs', {
  repositoryId: integer('repository_id').notNull().references(() => repositories.id),
  digest: text('digest').notNull().references(() => blobs.digest),
  createdAt: integer('created_at').notNull(),
}, (t) => [primaryKey({ columns: [t.repositoryId, t.digest] }), index('repository_blobs_digest').on(t.digest)])

/** A manifest in a repository. The payload is kept here too so reads need no storage trip. */
export const manifests = sqliteTable('manifests', {
  repositoryId: integer('repository_id').notNull().references(() => repositories.id),
  digest: text('digest').notNull(),
  mediaType: text('media_type').notNull(),
  size: integer('size').notNull(),
  payload: blob('payload', { mode: 'buffer' }).notNull(),
  subjectDigest: text('subject_digest'),
  artifactType: text('artifact_type'),
  annotations: text('annotations'),
  createdAt: integer('created_at').notNull(),
}, (t) => [primaryKey({ columns: [t.repositoryId, t.digest] }), index('manifests_subject').on(t.repositoryId, t.subjectDigest)])

/** Blobs and child manifests a manifest references (used to refuse dangling references). */
export const manifestReferences = sqliteTable('manifest_references', {
  repositoryId: integer('repository_id').notNull(),
  manifestDigest: text('manifest_digest').notNull(),
  targetDigest: text('target_digest').notNull(),
  kind: text('kind', { enum: ['blob', 'manifest'] }).notNull(),
}, (t) => [primaryKey({ columns: [t.repositoryId, t.manifestDigest, t.targetDigest] }), index('manifest_references_target').on(t.repositoryId, t.targetDigest)])

export const tags = sqliteTable('tags', {
  repositoryId: integer('repository_id').notNull().references(() => repositories.id),
  name: text('name').notNull(),
  digest: text('digest').notNull(),
  updatedAt: integer('updated_at').notNull(),
}, (t) => [primaryKey({ columns: [t.repositoryId, t.name] }), index('tags_digest').on(t.repositoryId, t.digest)])

/** A durable upload session: parts live in `location` under uploads/<id>/ (storage/keys.ts). */
export const uploads = sqliteTable('uploads', {
  id: text('id').primaryKey(),
  repositoryId: integer('repository_id').notNull().references(() => repositories.id),
  location: text('location').notNull(),
  offset: integer('offset').notNull(),
  parts: integer('parts').notNull(),
  /**
   * JSON array: the nonce of each stored part, in order (part i is uploads/<id>/<i>.<nonce i>).
   * Recorded in the same update that advances the offset, so of two writers racing for one
   * offset only the winner's part is ever named. '' for parts stored before nonces existed.
   */
  partNonces: text('part_nonces').notNull().default('[]'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

/** "Blob D is present and verified in location L" (state 'present'), or known missing. */
export const placements = sqliteTable('placements', {
  digest: text('digest').notNull(),
  location: text('location').notNull(),
  state: text('state', { enum: ['present', 'missing'] }).notNull(),
  size: integer('size').notNull(),
  verifiedAt: integer('verified_at').notNull(),
}, (t) => [primaryKey({ columns: [t.digest, t.location] }), index('placements_location').on(t.location, t.state)])

/** Durable work item "copy D into L", unique per (D, L). */
export const replicationJobs = sqliteTable('replication_jobs', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  digest: text('digest').notNull(),
  location: text('location').notNull(),
  state: text('state', { enum: ['pending', 'running', 'done', 'dead'] }).notNull(),
  attempts: integer('attempts').notNull().default(0),
  dueAt: integer('due_at').notNull(),
  leaseOwner: text('lease_owner'),
  leaseUntil: integer('lease_until'),
  lastError: text('last_error'),
  sourceLocation: text('source_location'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  finishedAt: integer('finished_at'),
}, (t) => [uniqueIndex('replication_jobs_digest_location').on(t.digest, t.location), index('replication_jobs_due').on(t.state, t.dueAt)])

/** Per-namespace replication policy set through the admin API (overrides the config file's). */
export const namespacePolicies = sqliteTable('namespace_policies', {
  namespace: text('namespace').primaryKey(),
  extraLocations: text('extra_locations').notNull(),
  residency: text('residency'),
  updatedAt: integer('updated_at').notNull(),
})

/** The index change log edges apply in order (ARCHITECTURE §5 "Region index"). */
export const changes = sqliteTable('changes', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  kind: text('kind').notNull(),
  repository: text('repository'),
  payload: text('payload').notNull(),
  at: integer('at').notNull(),
})

/**
 * Deployment-wide facts written once: `deployment_id` (a random id made by the first origin that
 * opened this database; fs location markers carry it) and `location_root:<id>` (when that local-disk
 * location's root was set up, so a root found missing later is a vanished volume, not a new one).
 */
export const settings = sqliteTable('settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: integer('created_at').notNull(),
})

// Access control (README "Access control"). Secrets are stored only as salted slow hashes.

/** A user or a robot account (robots: long-lived secrets for CI, named `<namespace>+<name>`). */
export const accounts = sqliteTable('accounts', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  /** 'user' | 'robot' */
  kind: text('kind').notNull(),
  /** The password's or robot secret's slow salted hash (origin/auth/passwords.ts), never the secret. */
  secretHash: text('secret_hash').notNull(),
  /** Registry-wide admin: every action on every repository, and the admin API. */
  isAdmin: integer('is_admin', { mode: 'boolean' }).notNull().default(false),
  disabled: integer('disabled', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

/**
 * What an account may do. `target` is a repository name (`team/app`) or a whole namespace
 * (`team/*`); `actions` a comma-separated subset of pull,push,delete,admin. Absent: nothing (deny by default).
 */
export const grants = sqliteTable('grants', {
  accountId: integer('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
  target: text('target').notNull(),
  actions: text('actions').notNull(),
  createdAt: integer('created_at').notNull(),
}, (t) => [primaryKey({ columns: [t.accountId, t.target] })])

/** Repositories readable anonymously. A repository not listed here is private. Keyed by name, so a
 * repository can be made public before its first push. */
export const publicRepositories = sqliteTable('public_repositories', {
  repository: text('repository').primaryKey(),
  createdAt: integer('created_at').notNull(),
})

/**
 * Token signing keys (JWS, asymmetric). The newest key not retired signs; a retired key keeps
 * verifying (it stays in the JWKS) until `verifyUntil`, past the expiry of the last token it signed.
 */
export const signingKeys = sqliteTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  privateJwk: text('private_jwk').notNull(),
  publicJwk: text('public_jwk').notNull(),
  createdAt: integer('created_at').notNull(),
  retiredAt: integer('retired_at'),
  verifyUntil: integer('verify_until'),
})

/** OAuth2 refresh tokens (token endpoint, grant_type=refresh_token), stored as SHA-256 hashes. */
export const refreshTokens = sqliteTable('refresh_tokens', {
  tokenHash: text('token_hash').primaryKey(),
  accountId: integer('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
  service: text('service').notNull(),
  clientId: text('client_id'),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
}, (t) => [index('refresh_tokens_account').on(t.accountId)])

/**
 * Jobs exactly one process of the deployment runs at a time (the reconciler, the hourly cleanup),
 * whichever origin or worker holds the lease: `owner` until `until` (ms), renewed while it runs.
 */
export const leases = sqliteTable('leases', {
  name: text('name').primaryKey(),
  owner: text('owner').notNull(),
  until: integer('until').notNull(),
})
