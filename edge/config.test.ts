// The edge config document's access-control settings (docs/edge.md "Access control"): required, so
// a document from before access control cannot quietly serve private repositories to anyone.

import { describe, expect, it } from 'vitest'
import { EdgeConfigError, parseEdgeConfig, parseEdgeConfigWithEnv } from './config.ts'

const BASE = { home: { lat: 50.1, lon: 8.7 }, origin: { url: 'http://origin.internal:5000/' } }
const AUTH = { realm: 'https://registry.example/v2/token', service: 'registry.example', issuer: 'meridian:registry.example' }

describe('auth in the edge config', () => {
  it('is required: null (or false) switches it off', () => {
    expect(() => parseEdgeConfig(BASE)).toThrow(/auth: required/)
    expect(parseEdgeConfig({ ...BASE, auth: null }).auth).toBeNull()
    expect(parseEdgeConfig({ ...BASE, auth: false }).auth).toBeNull()
  })

  it('takes realm, service and issuer; the JWKS defaults to the origin URL the edge reaches', () => {
    expect(parseEdgeConfig({ ...BASE, auth: AUTH }).auth).toEqual({ ...AUTH, jwksUrl: 'http://origin.internal:5000/.well-known/jwks.json' })
    expect(parseEdgeConfig({ ...BASE, auth: { ...AUTH, jwksUrl: 'https://keys.example/jwks.json' } }).auth?.jwksUrl).toBe('https://keys.example/jwks.json')
  })

  it('names the field that is wrong', () => {
    const bad = (auth: Record<string, unknown>) => () => parseEdgeConfig({ ...BASE, auth: { ...AUTH, ...auth } })
    expect(bad({ realm: undefined })).toThrow(/auth.realm/)
    expect(bad({ realm: 'ftp://x/v2/token' })).toThrow(/auth.realm/)
    expect(bad({ realm: 'https://x/v2/token"' })).toThrow(/auth.realm/)
    expect(bad({ service: 'a "quoted" service' })).toThrow(/auth.service/)
    expect(bad({ issuer: '' })).toThrow(/auth.issuer/)
    expect(bad({ jwksUrl: 'not a url' })).toThrow(/auth.jwksUrl/)
    expect(() => parseEdgeConfig({ ...BASE, auth: 'on' })).toThrow(EdgeConfigError)
  })

  it('lets the environment move the JWKS address and carry the secrets', () => {
    const config = parseEdgeConfigWithEnv({ ...BASE, auth: AUTH }, {
      MERIDIAN_EDGE_TOKEN: 'feed-secret', MERIDIAN_EDGE_ADMIN_TOKEN: 'admin', MERIDIAN_EDGE_JWKS_URL: 'http://10.0.0.5:5000/.well-known/jwks.json',
    })
    expect(config.auth?.jwksUrl).toBe('http://10.0.0.5:5000/.well-known/jwks.json')
    expect(config.origin.token).toBe('feed-secret')
    expect(config.adminToken).toBe('admin')
  })
})
