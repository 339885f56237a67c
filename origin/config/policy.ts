// Where blobs go. Pure functions over a loaded configuration, for the upload path (where a push
// lands) and the replication scheduler and reconciler (where copies go).
//
// The rule for a blob shared by several namespaces (the same layer pushed to acme/app and to
// globex/app): its targets are the union of their policies (default locations plus every
// namespace's extra locations), but a location must lie inside the residency of *every* one of
// them. Residency is a promise ("acme's bytes never leave the EU"); a blob does not stop being
// acme's because globex also pushed it.

import type { LocationConfig, MeridianConfig, NamespacePolicy } from './types.ts'
import { namespaceOf } from '../../oci/names.ts'

/** `*` matches any run of characters, everything else matches itself. null: no limit. */
export function matchesResidency(locationId: string, residency: string[] | null): boolean {
  if (residency === null) return true
  return residency.some((glob) => globToRegExp(glob).test(locationId))
}

function globToRegExp(glob: string): RegExp {
  const source = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')
  return new RegExp(`^${source}$`)
}

export function namespacePolicy(config: MeridianConfig, namespace: string): NamespacePolicy | null {
  return config.namespaces.find((p) => p.namespace === namespace) ?? null
}

/** Whether `repository` may hold image indexes whose children it lacks (namespaces[].allowSparseIndexes). */
export function allowsSparseIndexes(config: MeridianConfig, repository: string): boolean {
  return namespacePolicy(config, namespaceOf(repository))?.allowSparseIndexes === true
}

function byId(config: MeridianConfig): Map<string, LocationConfig> {
  return new Map(config.locations.map((l) => [l.id, l]))
}

/**
 * The locations a blob belonging to these namespaces should be present in, in declaration order:
 * (default locations ∪ each namespace's extraLocations), minus read-only locations, minus any
 * location outside the residency of any of the namespaces. Namespaces without a policy add
 * nothing and limit nothing.
 */
export function targetLocations(config: MeridianConfig, namespaces: string[]): string[] {
  const policies = [...new Set(namespaces)].map((ns) => namespacePolicy(config, ns)).filter((p) => p !== null)
  const wanted = new Set(config.locations.filter((l) => l.replicateByDefault).map((l) => l.id))
  for (const policy of policies) for (const id of policy.extraLocations) wanted.add(id)
  return config.locations
    .filter((l) => wanted.has(l.id) && !l.readOnly)
    .filter((l) => policies.every((p) => matchesResidency(l.id, p.residency)))
    .map((l) => l.id)
}

/**
 * Where a push into this namespace may land, best first: the preference order, keeping writable
 * locations inside the namespace's residency (an upload is a placement too). Empty when none is:
 * the origin must refuse the push rather than write outside the residency.
 */
export function writableLocations(config: MeridianConfig, namespace: string): string[] {
  const locations = byId(config)
  const residency = namespacePolicy(config, namespace)?.residency ?? null
  return config.preference.filter((id) => {
    const location = locations.get(id)
    return location !== undefined && !location.readOnly && matchesResidency(id, residency)
  })
}
