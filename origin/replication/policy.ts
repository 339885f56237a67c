// Which locations a repository's blobs must be replicated to, and which it may be written to:
// the config's default locations and namespace policies, overridden by policies set through the
// admin API (namespace_policies rows).

import { eq } from 'drizzle-orm'
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
}

export function replicationPolicy(db: Db, config: MeridianConfig): ReplicationPolicy {
  const fromConfig = new Map(config.namespaces.map((p) => [p.namespace, p]))
  const namespacePolicy = (namespace: string): NamespacePolicy | null => {
    const row = db.select().from(namespacePolicies).where(eq(namespacePolicies.namespace, namespace)).get()
    if (row) return { namespace, extraLocations: JSON.parse(row.extraLocations), residency: row.residency ? JSON.parse(row.residency) : null }
    return fromConfig.get(namespace) ?? null
  }
  const effective = (): MeridianConfig => {
    const overrides = db.select().from(namespacePolicies).all()
    if (overrides.length === 0) return config
    const merged = new Map(fromConfig)
    for (const r of overrides) merged.set(r.namespace, { namespace: r.namespace, extraLocations: JSON.parse(r.extraLocations), residency: r.residency ? JSON.parse(r.residency) : null })
    return { ...config, namespaces: [...merged.values()] }
  }
  return {
    namespacePolicy,
    targets: (repository) => config.replication.enabled ? targetLocations(effective(), [namespaceOf(repository)]) : [],
    targetsFor: (namespaces) => config.replication.enabled ? targetLocations(effective(), namespaces) : [],
    mayWrite: (repository, locationId) => matchesResidency(locationId, namespacePolicy(namespaceOf(repository))?.residency ?? null),
  }
}
