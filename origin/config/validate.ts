// Checks that need the whole configuration: references between blocks, and whether the policy
// can be carried out at all. Run after environment overrides, so an env preference is checked
// the same way a file's is.

import type { MeridianConfig } from './types.ts'
import { matchesResidency, writableLocations } from './policy.ts'
import { RESIDENCY_GLOB } from './namespaces.ts'
import { at, problem, warn, type Report } from './report.ts'

export interface ValidateContext {
  /** How the preference was given (`preference`, `DISTRIBUTED_STORAGE_PREFERENCE`, an env var). */
  preferencePath: string
  /** Where a location was declared (`locations.eu-s3`, `DISTRIBUTED_STORAGE_CONFIG.default`). */
  locationPath: (id: string) => string
}

export function validateConfig(report: Report, config: MeridianConfig, ctx: ValidateContext): void {
  const locations = new Map(config.locations.map((l) => [l.id, l]))
  const known = `known: ${[...locations.keys()].join(', ')}`

  const seen = new Set<string>()
  config.preference.forEach((id, i) => {
    if (!locations.has(id)) problem(report, at(ctx.preferencePath, i), `unknown location "${id}" (${known})`)
    else if (seen.has(id)) problem(report, at(ctx.preferencePath, i), `"${id}" is listed twice`)
    seen.add(id)
  })
  const writable = config.preference.filter((id) => locations.get(id)?.readOnly === false)
  if (config.preference.length > 0 && writable.length === 0 && config.preference.every((id) => locations.has(id))) {
    problem(report, ctx.preferencePath, 'no writable location: every listed location is read-only, so pushes could go nowhere')
  }

  const extras = new Set<string>()
  config.namespaces.forEach((policy, i) => {
    const path = at('namespaces', i)
    const residencyPath = at(path, 'residency')
    // A malformed glob is reported already; "matches nothing" would only repeat it.
    const wellFormed = policy.residency?.every((glob) => RESIDENCY_GLOB.test(glob)) ?? true
    const residencyMatches = policy.residency === null || config.locations.some((l) => matchesResidency(l.id, policy.residency))
    if (!residencyMatches && wellFormed) problem(report, residencyPath, 'matches no location')
    policy.residency?.forEach((glob, j) => {
      if (residencyMatches && !config.locations.some((l) => matchesResidency(l.id, [glob]))) {
        warn(report, at(residencyPath, j), `"${glob}" matches no location`)
      }
    })
    policy.extraLocations.forEach((id, j) => {
      const itemPath = at(at(path, 'extraLocations'), j)
      const location = locations.get(id)
      extras.add(id)
      if (!location) problem(report, itemPath, `unknown location "${id}" (${known})`)
      else if (location.readOnly) problem(report, itemPath, `"${id}" is read-only and never receives replication`)
      else if (!matchesResidency(id, policy.residency)) {
        problem(report, itemPath, `"${id}" is outside the namespace's own residency (${policy.residency?.join(', ')})`)
      }
    })
    if (residencyMatches && writable.length > 0 && writableLocations(config, policy.namespace).length === 0) {
      warn(report, residencyPath, `no writable location of the preference lies inside it: this origin will refuse pushes to ${policy.namespace}/*`)
    }
  })

  for (const location of config.locations) {
    if (location.readOnly || location.replicateByDefault || seen.has(location.id) || extras.has(location.id)) continue
    warn(report, ctx.locationPath(location.id), 'not in the preference, not a default location and no namespace lists it: it will never receive a blob')
  }
}
