// The `namespaces:` block: per-namespace replication policy. References to locations are checked
// later (validate.ts), once every location is known.

import type { NamespacePolicy } from './types.ts'
import { isValidName } from '../../oci/names.ts'
import { at, problem, type Report } from './report.ts'
import { checkKeys, isAbsent, readBoolean, readList, readMap, readString, readStringList } from './read-values.ts'

const NAMESPACE_KEYS = ['namespace', 'extraLocations', 'residency', 'allowSparseIndexes'] as const

/** A residency glob: location id characters, plus `*` for any run of them. */
export const RESIDENCY_GLOB = /^[a-z0-9_*-]{1,63}$/

export function readNamespaces(report: Report, value: unknown): NamespacePolicy[] {
  const list = readList(report, value, 'namespaces')
  if (!list) return []
  const seen = new Map<string, string>()
  const out: NamespacePolicy[] = []
  list.forEach((raw, i) => {
    const path = at('namespaces', i)
    const map = readMap(report, raw, path)
    if (!map) {
      if (isAbsent(raw)) problem(report, path, 'empty entry')
      return
    }
    checkKeys(report, map, NAMESPACE_KEYS, path)
    const namespace = readString(report, map.namespace, at(path, 'namespace'), { required: true })
    if (namespace === undefined) return
    // The first path segment of a repository name (distribution-spec <name> grammar).
    if (namespace.includes('/') || !isValidName(namespace)) {
      problem(report, at(path, 'namespace'), `"${namespace}" is not a namespace (the first segment of a repository name: lowercase letters, digits, '.', '_', '-')`)
    }
    const previous = seen.get(namespace)
    if (previous !== undefined) problem(report, at(path, 'namespace'), `duplicate namespace "${namespace}" (also ${previous})`)
    seen.set(namespace, path)
    const extraLocations = readStringList(report, map.extraLocations, at(path, 'extraLocations')) ?? []
    const residency = readStringList(report, map.residency, at(path, 'residency')) ?? null
    residency?.forEach((glob, j) => {
      if (!RESIDENCY_GLOB.test(glob)) problem(report, at(at(path, 'residency'), j), `"${glob}" is not a location id glob (location id characters and '*')`)
    })
    const policy: NamespacePolicy = { namespace, extraLocations, residency }
    const allowSparseIndexes = readBoolean(report, map.allowSparseIndexes, at(path, 'allowSparseIndexes'))
    if (allowSparseIndexes !== undefined) policy.allowSparseIndexes = allowSparseIndexes
    out.push(policy)
  })
  return out
}
