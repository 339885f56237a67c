import { describe, expect, it } from 'vitest'
import { matchesResidency, targetLocations, writableLocations } from './policy.ts'
import type { LocationConfig, MeridianConfig, NamespacePolicy } from './types.ts'
import { DEFAULT_AUTH, DEFAULT_ORIGIN, DEFAULT_REPLICATION } from './defaults.ts'

function location(id: string, extra: Partial<LocationConfig> = {}): LocationConfig {
  return { id, driver: 'memory', params: {}, lat: 0, lon: 0, replicateByDefault: false, serve: 'proxy', readOnly: false, ...extra }
}

function config(namespaces: NamespacePolicy[], preference = ['us-east', 'eu-west', 'eu-central']): MeridianConfig {
  return {
    dataDir: '/data',
    origin: DEFAULT_ORIGIN,
    databaseUrl: 'sqlite::memory:',
    locations: [
      location('us-east', { replicateByDefault: true }),
      location('eu-west', { replicateByDefault: true }),
      location('eu-central'),
      location('ap-south'),
      location('eu-archive', { readOnly: true }),
    ],
    preference,
    namespaces,
    replication: DEFAULT_REPLICATION,
    auth: DEFAULT_AUTH,
  }
}

const ACME: NamespacePolicy = { namespace: 'acme', extraLocations: ['ap-south'], residency: null }
const EURO: NamespacePolicy = { namespace: 'euro', extraLocations: ['eu-central'], residency: ['eu-*'] }
const SWISS: NamespacePolicy = { namespace: 'swiss', extraLocations: [], residency: ['eu-central'] }

describe('matchesResidency', () => {
  it('allows everything without a limit and nothing with an empty one', () => {
    expect(matchesResidency('us-east', null)).toBe(true)
    expect(matchesResidency('us-east', [])).toBe(false)
  })

  it('matches * against any run of characters, and everything else literally', () => {
    expect(matchesResidency('eu-west', ['eu-*'])).toBe(true)
    expect(matchesResidency('eu-', ['eu-*'])).toBe(true)
    expect(matchesResidency('us-east', ['eu-*', '*-east'])).toBe(true)
    expect(matchesResidency('neu-west', ['eu-*'])).toBe(false)
    expect(matchesResidency('eu-west-2', ['eu-west'])).toBe(false)
    expect(matchesResidency('eu_west', ['eu-*'])).toBe(false)
    expect(matchesResidency('anything', ['*'])).toBe(true)
  })
})

describe('targetLocations', () => {
  it('is the default locations for a namespace without a policy, never a read-only one', () => {
    expect(targetLocations(config([ACME]), ['nobody'])).toEqual(['us-east', 'eu-west'])
    expect(targetLocations(config([]), [])).toEqual(['us-east', 'eu-west'])
  })

  it('adds a namespace\'s extra locations', () => {
    expect(targetLocations(config([ACME]), ['acme'])).toEqual(['us-east', 'eu-west', 'ap-south'])
  })

  it('keeps a residency-limited namespace inside its limit, dropping default locations outside it', () => {
    expect(targetLocations(config([EURO]), ['euro'])).toEqual(['eu-west', 'eu-central'])
  })

  it('places a blob shared by several namespaces by the union of their policies', () => {
    const both = { ...ACME, extraLocations: ['ap-south'] }
    const other: NamespacePolicy = { namespace: 'other', extraLocations: ['eu-central'], residency: null }
    expect(targetLocations(config([both, other]), ['acme', 'other'])).toEqual(['us-east', 'eu-west', 'eu-central', 'ap-south'])
  })

  it('never copies a shared blob outside the residency of any namespace that holds it', () => {
    // acme wants ap-south, euro allows only eu-*: the blob is euro's too, so eu only.
    expect(targetLocations(config([ACME, EURO]), ['acme', 'euro'])).toEqual(['eu-west', 'eu-central'])
    // euro allows eu-*, swiss only eu-central: both promises hold.
    expect(targetLocations(config([EURO, SWISS]), ['euro', 'swiss'])).toEqual(['eu-central'])
  })

  it('ignores repeated namespaces', () => {
    expect(targetLocations(config([EURO]), ['euro', 'euro'])).toEqual(['eu-west', 'eu-central'])
  })
})

describe('writableLocations', () => {
  it('is the preference order for a namespace without residency', () => {
    expect(writableLocations(config([ACME]), 'acme')).toEqual(['us-east', 'eu-west', 'eu-central'])
  })

  it('keeps pushes inside the namespace\'s residency', () => {
    expect(writableLocations(config([EURO]), 'euro')).toEqual(['eu-west', 'eu-central'])
    expect(writableLocations(config([SWISS]), 'swiss')).toEqual(['eu-central'])
  })

  it('skips read-only and unknown locations, and may be empty', () => {
    const c = config([{ namespace: 'arch', extraLocations: [], residency: ['eu-archive'] }], ['eu-archive', 'gone', 'us-east'])
    expect(writableLocations(c, 'other')).toEqual(['us-east'])
    expect(writableLocations(c, 'arch')).toEqual([])
  })
})
