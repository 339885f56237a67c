// Which locations a repository's blobs must be replicated to, and which it may be written to:
// the config's default locations and namespace policies, overridden by policies set through the
// admin API (namespace_policies rows).
//
// The answers are synchronous (they are asked inside the push's transaction), so the overrides
// are held in memory and re-read from the database: at once after this origin changes one
// (refresh), and every `refreshMs` for changes made through another origin sharing the database.
// A push that races a policy change is caught up by the reconciler, as it always was.

import type { Db } from '../../db/client.ts'
import type { MeridianConfig, NamespacePolicy } from '../config/types.ts'
import { matchesResidency, targetLocations } from '../config/policy.ts'
import { namespaceOf } from '../../oci/names.ts'
import { namespacePolicies } from '../../db/schema.ts'

export interface ReplicationPolicy {
  /** Target locations for a blob pushed to `repository`. */
  targets(repository: string): string[]
  /** Target locations for a blob linked into repositories of these namespaces. */
  targetsFor(namespaces: string[]): string[]
  /** Whether a push to `repository` may be written to `locationId` (residency). */
  mayWrite(repository: string, locationId: string): boolean
  /** The effective policy of a namespace (API override, else config, else none). */
  namespacePolicy(namespace: string): NamespacePolicy | null
  /** Re-reads the admin API's policies now (after a change, so it takes effect at once). */
  refresh(): Promise<void>
  /** Stops the periodic re-read and waits for one in flight. */
  close(): Promise<void>
}

export interface PolicyOptions {
  /** How often the admin API's policies are re-read (another origin's change is seen within it). */
  refreshMs?: number
  /** A periodic re-read that failed (the last policies read stay in force). */
  onError?: (err: unknown) => void
}

/** Reads the admin API's policies once, then keeps them fresh; close() when done. */
export async function replicationPolicy(db: Db, config: MeridianConfig, options: PolicyOptions = {}): Promise<ReplicationPolicy> {
  const { refreshMs = 2000, onError = () => undefined } = options
  const fromConfig = new Map(config.namespaces.map((p) => [p.namespace, p]))
  let overrides = new Map<string, NamespacePolicy>()
  let effective: MeridianConfig = config
  // Reads may overlap (a timer's and an admin change's): only a read started later replaces the
  // result of one started earlier, so a slow old read never undoes a change just made.
  let started = 0
  let applied = 0
  const inFlight = new Set<Promise<void>>()

  async function load(): Promise<void> {
    const generation = ++started
    const rows = await db.select().from(namespacePolicies).all()
    if (generation < applied) return
    applied = generation
    overrides = new Map(rows.map((r) => [r.namespace, {
      namespace: r.namespace, extraLocations: JSON.parse(r.extraLocations) as string[], residency: r.residency ? JSON.parse(r.residency) as string[] : null,
    }]))
    effective = overrides.size === 0 ? config : { ...config, namespaces: [...new Map([...fromConfig, ...overrides]).values()] }
  }
  function refresh(): Promise<void> {
    const p = load().finally(() => inFlight.delete(p))
    inFlight.add(p)
    return p
  }

  await refresh()
  const timer = setInterval(() => { refresh().catch(onError) }, refreshMs)
  timer.unref?.()
  const namespacePolicy = (namespace: string): NamespacePolicy | null => overrides.get(namespace) ?? fromConfig.get(namespace) ?? null
  return {
    namespacePolicy,
    targets: (repository) => config.replication.enabled ? targetLocations(effective, [namespaceOf(repository)]) : [],
    targetsFor: (namespaces) => config.replication.enabled ? targetLocations(effective, namespaces) : [],
    mayWrite: (repository, locationId) => matchesResidency(locationId, namespacePolicy(namespaceOf(repository))?.residency ?? null),
    refresh,
    async close() {
      clearInterval(timer)
      await Promise.allSettled([...inFlight])
    },
  }
}
