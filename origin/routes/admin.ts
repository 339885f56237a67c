// The admin API (README "Admin API"): placements, replication backlog, jobs, dead letters, lag,
// namespace policies; with access control on, accounts, grants and public repositories
// (origin/auth/admin-routes.ts). JSON only. When MERIDIAN_ADMIN_TOKEN is set, every call needs
// `Authorization: Bearer <token>`, or a registry token of an admin account that holds the scope
// `registry:admin:*` (asked for by name at the token endpoint; an admin's pull tokens do not open it).

import { createHash, timingSafeEqual } from 'node:crypto'
import { Hono, type Context } from 'hono'
import { eq } from 'drizzle-orm'
import type { Db } from '../../db/client.ts'
import { placementsOf } from '../../db/queries/placements.ts'
import { backlogByLocation, jobsInState, jobsOf, percentile, recentLags, retryDeadJobs } from '../../db/queries/replication.ts'
import { namespacePolicies } from '../../db/schema.ts'
import { parseDigest } from '../../oci/digest.ts'
import { ociError } from '../../oci/errors.ts'
import type { MeridianConfig } from '../config/types.ts'
import { matchesResidency } from '../config/policy.ts'
import type { ReplicationPolicy } from '../replication/policy.ts'
import type { Metrics } from '../metrics.ts'
import { ADMIN_API_SCOPE } from '../auth/grants.ts'

export interface AdminDeps {
  db: Db
  config: MeridianConfig
  policy: ReplicationPolicy
  metrics: Metrics
  token?: string | null
  /**
   * Whether the API may answer without a token: only when the origin listens on loopback. On any
   * other address a missing MERIDIAN_ADMIN_TOKEN closes the API (a policy PUT moves residency).
   * A function when it is known only once the server listens.
   */
  openWithoutToken: boolean | (() => boolean)
  /** Called after a policy change or a retry so the worker looks for work now. */
  wake?: () => void
  /**
   * With access control on: what a `Bearer` registry token may do here (origin/auth/origin-auth.ts).
   * 'admin' opens the API like the admin token; 'unscoped' and 'other' are refused with 403 DENIED;
   * null (not a valid registry token) is treated as no credential.
   */
  registryTokenRole?: (token: string) => Promise<RegistryTokenRole | null>
}

/**
 * 'admin': an enabled admin account's token holding `registry:admin:*`; 'unscoped': an admin
 * account's token without that scope; 'other': anyone else's token (anonymous included).
 */
export type RegistryTokenRole = 'admin' | 'unscoped' | 'other'

/** How a request got into the admin API: its token, an admin account's registry token, or open (loopback). */
export type AdminAccess = 'token' | 'account' | 'open'
export type AdminEnv = { Variables: { adminAccess: AdminAccess } }

export function adminAccessOf(c: Context<AdminEnv>): AdminAccess | null {
  return c.get('adminAccess') ?? null
}

const NAMESPACE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/

export function createAdminRoutes(deps: AdminDeps): Hono<AdminEnv> {
  const admin = new Hono<AdminEnv>()
  const expected = deps.token ? createHash('sha256').update(`Bearer ${deps.token}`).digest() : null
  admin.use('*', async function requireAdminToken(c, next) {
    const authorization = c.req.header('authorization') ?? ''
    // Hashes compared in constant time: the token's length and prefix do not leak through timing.
    if (expected && timingSafeEqual(createHash('sha256').update(authorization).digest(), expected)) {
      c.set('adminAccess', 'token')
      return next()
    }
    // Before the loopback rule: a caller that names a non-admin account is refused even there.
    if (await isAdminAccount(authorization)) {
      c.set('adminAccess', 'account')
      return next()
    }
    if (expected) throw ociError('UNAUTHORIZED', { message: 'admin token required', headers: { 'WWW-Authenticate': 'Bearer realm="meridian-admin"' } })
    if (typeof deps.openWithoutToken === 'function' ? deps.openWithoutToken() : deps.openWithoutToken) {
      c.set('adminAccess', 'open')
      return next()
    }
    throw ociError('DENIED', { message: 'the admin API is closed: set MERIDIAN_ADMIN_TOKEN (or use an admin account\'s registry token) to use it on a non-loopback address' })
  })

  /**
   * A registry token of an enabled admin account, with the admin scope; any other valid token is
   * refused here (re-asking cannot help a non-admin, and the message tells an admin what to ask for).
   */
  async function isAdminAccount(authorization: string): Promise<boolean> {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1]
    if (!deps.registryTokenRole || token === undefined) return false
    const role = await deps.registryTokenRole(token)
    if (role === 'other') throw ociError('DENIED', { message: `the admin API needs an admin account's token with scope ${ADMIN_API_SCOPE}` })
    if (role === 'unscoped') throw ociError('DENIED', { message: `this token lacks the admin scope: ask the token endpoint for scope=${ADMIN_API_SCOPE}` })
    return role === 'admin'
  }

  admin.get('/blobs/:digest/placements', async (c) => {
    const digest = c.req.param('digest')
    parseDigest(digest)
    return c.json({ digest, placements: await placementsOf(deps.db, digest), jobs: await jobsOf(deps.db, digest) })
  })

  admin.get('/replication/backlog', async (c) => c.json({ locations: await backlogByLocation(deps.db) }))

  admin.get('/replication/jobs', async (c) => {
    const state = c.req.query('state') ?? 'running'
    if (!['pending', 'running', 'done', 'dead'].includes(state)) throw ociError('UNSUPPORTED', { status: 400, message: 'state must be pending, running, done or dead' })
    const limit = Math.min(Number(c.req.query('limit') ?? 100) || 100, 1000)
    return c.json({ state, jobs: await jobsInState(deps.db, state as 'running', limit) })
  })

  admin.get('/replication/dead', async (c) => c.json({ jobs: await jobsInState(deps.db, 'dead', 1000) }))

  // Retry dead letters: all of them, or the ids in the JSON body {"ids": [..]}.
  admin.post('/replication/dead/retry', async (c) => {
    const body = await c.req.json().catch(() => ({})) as { ids?: unknown }
    const ids = Array.isArray(body.ids) ? body.ids.filter((i): i is number => Number.isInteger(i)) : null
    const retried = await retryDeadJobs(deps.db, ids)
    deps.wake?.()
    return c.json({ retried })
  })

  admin.get('/replication/lag', async (c) => {
    const lags = await recentLags(deps.db, 1000)
    return c.json({ samples: lags.length, p50Ms: percentile(lags, 50), p90Ms: percentile(lags, 90), p99Ms: percentile(lags, 99), maxMs: lags.length ? Math.max(...lags) : null })
  })

  admin.get('/namespaces/:namespace/policy', async (c) => {
    const ns = c.req.param('namespace')
    // Read now: another origin sharing the database may have changed it a moment ago.
    await deps.policy.refresh()
    return c.json({ namespace: ns, policy: deps.policy.namespacePolicy(ns), source: await hasOverride(deps.db, ns) ? 'api' : 'config' })
  })

  // PUT {"extraLocations": ["eu-s3"], "residency": ["eu-*"] | null}. Takes effect at once; the
  // reconciler enqueues the copies the new policy asks for.
  admin.put('/namespaces/:namespace/policy', async (c) => {
    const ns = c.req.param('namespace')
    if (!NAMESPACE.test(ns)) throw ociError('NAME_INVALID', { detail: { namespace: ns } })
    const body = await c.req.json().catch(() => null) as { extraLocations?: unknown; residency?: unknown } | null
    const problems = validatePolicy(deps.config, body)
    if (problems.length > 0 || !body) throw ociError('UNSUPPORTED', { status: 400, message: 'invalid policy', detail: { problems } })
    const extra = (body.extraLocations ?? []) as string[]
    const residency = (body.residency ?? null) as string[] | null
    await deps.db.insert(namespacePolicies).values({ namespace: ns, extraLocations: JSON.stringify(extra), residency: residency ? JSON.stringify(residency) : null, updatedAt: Date.now() })
      .onConflictDoUpdate({ target: namespacePolicies.namespace, set: { extraLocations: JSON.stringify(extra), residency: residency ? JSON.stringify(residency) : null, updatedAt: Date.now() } }).run()
    await deps.policy.refresh()
    deps.wake?.()
    return c.json({ namespace: ns, policy: deps.policy.namespacePolicy(ns), source: 'api' })
  })

  admin.delete('/namespaces/:namespace/policy', async (c) => {
    const ns = c.req.param('namespace')
    await deps.db.delete(namespacePolicies).where(eq(namespacePolicies.namespace, ns)).run()
    await deps.policy.refresh()
    return c.json({ namespace: ns, policy: deps.policy.namespacePolicy(ns), source: 'config' })
  })
  return admin
}

async function hasOverride(db: Db, ns: string): Promise<boolean> {
  return (await db.select().from(namespacePolicies).where(eq(namespacePolicies.namespace, ns)).get()) !== undefined
}

function validatePolicy(config: MeridianConfig, body: { extraLocations?: unknown; residency?: unknown } | null): string[] {
  if (!body || typeof body !== 'object') return ['body must be a JSON object']
  const problems: string[] = []
  const ids = new Set(config.locations.map((l) => l.id))
  const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string')
  if (body.extraLocations !== undefined && !isStrings(body.extraLocations)) problems.push('extraLocations must be a list of location ids')
  if (body.residency !== undefined && body.residency !== null && !isStrings(body.residency)) problems.push('residency must be a list of location globs or null')
  if (problems.length) return problems
  const residency = (body.residency ?? null) as string[] | null
  for (const id of (body.extraLocations ?? []) as string[]) {
    if (!ids.has(id)) problems.push(`extraLocations: unknown location "${id}"`)
    else if (!matchesResidency(id, residency)) problems.push(`extraLocations: "${id}" lies outside the namespace's residency`)
  }
  if (residency && !config.locations.some((l) => matchesResidency(l.id, residency))) problems.push('residency matches no configured location')
  return problems
}
