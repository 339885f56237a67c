import { describe, expect, it } from 'vitest'
import { loadYaml, problemsOf } from './testing.ts'
import { allowsSparseIndexes } from './policy.ts'

const LOCATIONS = 'locations: { a: { driver: memory, lat: 0, lon: 0, replicateByDefault: true } }'

describe('namespaces[].allowSparseIndexes', () => {
  it('is read from the file and allows sparse indexes in that namespace only', () => {
    const { config } = loadYaml(`${LOCATIONS}
namespaces:
  - { namespace: mirror, allowSparseIndexes: true }
  - { namespace: strict, allowSparseIndexes: false }
  - { namespace: plain, extraLocations: [a] }
`)
    expect(config.namespaces[0]).toEqual({ namespace: 'mirror', extraLocations: [], residency: null, allowSparseIndexes: true })
    expect(allowsSparseIndexes(config, 'mirror/library/alpine')).toBe(true)
    expect(allowsSparseIndexes(config, 'strict/app')).toBe(false)
    expect(allowsSparseIndexes(config, 'plain/app')).toBe(false)
    expect(allowsSparseIndexes(config, 'other/app')).toBe(false)
    // The first path segment is the namespace: a deeper `mirror` segment does not count.
    expect(allowsSparseIndexes(config, 'other/mirror')).toBe(false)
  })

  it('is off when no file names it', () => {
    const { config } = loadYaml(null)
    expect(allowsSparseIndexes(config, 'library/alpine')).toBe(false)
  })

  it('refuses a value that is not a boolean', () => {
    expect(problemsOf(() => loadYaml(`${LOCATIONS}\nnamespaces: [{ namespace: mirror, allowSparseIndexes: sometimes }]`)))
      .toEqual(['namespaces[0].allowSparseIndexes: expected true or false, got "sometimes"'])
  })
})
