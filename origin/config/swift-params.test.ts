import { describe, expect, it } from 'vitest'
import { canPresign, validateDriverParams } from './drivers.ts'
import { createReport } from './report.ts'

function params(raw: Record<string, unknown>) {
  const report = createReport()
  const out = validateDriverParams(report, 'swift', raw, { locationId: 'sw', dataDir: '/data', pathOf: (p) => `p.${p}`, blockPath: 'p' })
  return { out, problems: report.problems }
}

describe('swift parameters', () => {
  it('takes the v1 auth with user and password, Keystone v3 by default', () => {
    expect(params({ container: 'c', authUrl: 'http://swift:8080/auth/v1.0/', authVersion: 1, user: 'test:tester', password: 'testing', prefix: '/r/', tempUrlKey: 'k' })).toEqual({
      out: { container: 'c', authUrl: 'http://swift:8080/auth/v1.0', authVersion: 1, user: 'test:tester', password: 'testing', prefix: 'r', tempUrlKey: 'k' },
      problems: [],
    })
    expect(params({ container: 'c', authUrl: 'https://keystone:5000/v3', user: 'u', password: 'p', projectName: 'reg', segmentSize: '104857600' })).toEqual({
      out: { container: 'c', authUrl: 'https://keystone:5000/v3', authVersion: 3, user: 'u', password: 'p', projectName: 'reg', segmentSize: 104_857_600 },
      problems: [],
    })
  })

  it('takes an application credential by id, or by name with its user', () => {
    expect(params({ container: 'c', authUrl: 'https://k/v3', applicationCredentialId: 'id', applicationCredentialSecret: 's' }).problems).toEqual([])
    expect(params({ container: 'c', authUrl: 'https://k/v3', applicationCredentialName: 'n', applicationCredentialSecret: 's' }).problems)
      .toEqual(['p: applicationCredentialSecret needs applicationCredentialId, or applicationCredentialName with user or userId'])
  })

  it('says which credentials are missing or do not go together', () => {
    expect(params({}).problems).toEqual(['p.container: required', 'p.authUrl: required', 'p: Keystone v3 needs exactly one of password or applicationCredentialSecret'])
    expect(params({ container: 'c', authUrl: 'http://s/auth/v1.0', authVersion: 1, user: 'a:b' }).problems).toEqual(['p: the v1 auth needs user (account:user) and password (the key)'])
    expect(params({ container: 'c', authUrl: 'http://s/auth/v1.0', authVersion: 1, user: 'a:b', password: 'k', projectName: 'x' }).problems).toEqual(['p: projectName: Keystone v3 only (authVersion: 3)'])
    expect(params({ container: 'c', authUrl: 'http://k/v2.0', authVersion: 2, user: 'u', password: 'p' }).problems).toEqual(['p.authVersion: must be 1 (v1 auth, tempauth) or 3 (Keystone v3), got 2'])
    expect(params({ container: 'c', authUrl: 'http://k/v3', user: 'u', password: 'p', interface: 'private', segmentSize: 10 }).problems)
      .toEqual(['p.interface: must be public, internal or admin, got "private"', 'p.segmentSize: must be 1048576..5368709120, got 10'])
  })

  it('presigns only with a temp URL key', () => {
    expect(canPresign('swift', { tempUrlKey: 'k' })).toBe(true)
    expect(canPresign('swift', {})).toBe(false)
  })
})
