import { describe, expect, it } from 'vitest'
import { authSettingsFor } from './auth.ts'
import { loadYaml, problemsOf } from './testing.ts'

const OK = 'locations:\n  a: { driver: memory, lat: 0, lon: 0 }\n'

describe('auth configuration', () => {
  it('is on by default, with five-minute tokens', () => {
    const { config } = loadYaml(null)
    expect(config.auth).toEqual({ enabled: true, service: null, issuer: null, tokenSeconds: 300, loginFailuresPerAccount: 10, loginFailuresPerAddress: 30 })
  })

  it('MERIDIAN_AUTH=off switches it off, and wins over the file', () => {
    expect(loadYaml(null, { MERIDIAN_AUTH: 'off' }).config.auth.enabled).toBe(false)
    expect(loadYaml(`${OK}auth: { enabled: true }\n`, { MERIDIAN_AUTH: 'false' }).config.auth.enabled).toBe(false)
    expect(loadYaml(`${OK}auth: { enabled: false }\n`, { MERIDIAN_AUTH: 'on' }).config.auth.enabled).toBe(true)
    expect(loadYaml(`${OK}auth: { enabled: false }\n`).config.auth.enabled).toBe(false)
  })

  it('reads the file block', () => {
    const yaml = `${OK}auth:\n  service: registry.example.com\n  issuer: acme-issuer\n  tokenSeconds: 900\n  loginFailuresPerAccount: 5\n  loginFailuresPerAddress: "50"\n`
    expect(loadYaml(yaml).config.auth).toEqual({
      enabled: true, service: 'registry.example.com', issuer: 'acme-issuer', tokenSeconds: 900, loginFailuresPerAccount: 5, loginFailuresPerAddress: 50,
    })
  })

  it('refuses what it cannot use, each at its path', () => {
    expect(problemsOf(() => loadYaml(null, { MERIDIAN_AUTH: 'maybe' }))).toEqual(['MERIDIAN_AUTH: expected true or false, got "maybe"'])
    const yaml = `${OK}auth:\n  enabled: sometimes\n  service: 'a "b"'\n  tokenSeconds: 30\n  loginFailuresPerAccount: 0\n  realm: x\n`
    expect(problemsOf(() => loadYaml(yaml))).toEqual([
      'auth.realm: unknown key (expected one of: enabled, service, issuer, tokenSeconds, loginFailuresPerAccount, loginFailuresPerAddress)',
      'auth.enabled: expected true or false, got "sometimes"',
      'auth.service: printable ASCII without spaces, quotes or backslashes',
      'auth.tokenSeconds: must be 60..86400, got 30',
      'auth.loginFailuresPerAccount: must be >= 1, got 0',
    ])
  })

  it('warns when clients elsewhere could not reach the derived realm', () => {
    const { warnings } = loadYaml(null, { MERIDIAN_ORIGIN_HOST: '0.0.0.0' })
    expect(warnings.some((w) => w.startsWith('origin.publicUrl: not set while access control is on'))).toBe(true)
    expect(loadYaml(null, { MERIDIAN_ORIGIN_HOST: '0.0.0.0', MERIDIAN_PUBLIC_URL: 'https://r.example.com' }).warnings).toEqual([])
    expect(loadYaml(null, { MERIDIAN_ORIGIN_HOST: '0.0.0.0', MERIDIAN_AUTH: 'off' }).warnings).toEqual([])
  })

  it('derives realm, service and issuer from the public URL, or the listen address', () => {
    const { config } = loadYaml(null, { MERIDIAN_PUBLIC_URL: 'https://registry.example.com/' })
    expect(authSettingsFor(config, 'http://127.0.0.1:5000')).toEqual({
      realm: 'https://registry.example.com/v2/token', service: 'registry.example.com', issuer: 'meridian:registry.example.com',
    })
    const local = loadYaml(null).config
    expect(authSettingsFor(local, 'http://127.0.0.1:41234')).toEqual({
      realm: 'http://127.0.0.1:41234/v2/token', service: '127.0.0.1:41234', issuer: 'meridian:127.0.0.1:41234',
    })
  })
})
