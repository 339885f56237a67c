// How the Worker entry reads its settings: the edge config from `[vars]` (a TOML table arrives as
// an object, `--var` or the dashboard give a string), secrets from `wrangler secret`. The Worker
// itself runs in workerd in test/runtimes/workerd-edge.test.ts.

import { describe, expect, it } from 'vitest'
import { EdgeConfigError } from '../config.ts'
import { edgeConfigFromWorkerEnv } from './workers.ts'

const DOCUMENT = { region: 'cf', home: { lat: 50.1, lon: 8.7 }, origin: { url: 'https://origin.example', token: 'in-the-file' }, auth: null }
const AUTH = { realm: 'https://registry.example/v2/token', service: 'registry.example', issuer: 'meridian:registry.example' }

describe('Worker settings', () => {
  it('reads the config as a [vars] object, the secrets overriding what the document says', () => {
    const config = edgeConfigFromWorkerEnv({ MERIDIAN_EDGE_CONFIG: DOCUMENT, MERIDIAN_EDGE_TOKEN: 'secret', MERIDIAN_EDGE_ADMIN_TOKEN: 'admin' })
    expect(config.region).toBe('cf')
    expect(config.origin).toEqual({ url: 'https://origin.example', token: 'secret' })
    expect(config.adminToken).toBe('admin')
  })

  it('reads the config as a JSON string', () => {
    const config = edgeConfigFromWorkerEnv({ MERIDIAN_EDGE_CONFIG: JSON.stringify(DOCUMENT) })
    expect(config.origin.token).toBe('in-the-file')
    expect(config.home).toEqual({ lat: 50.1, lon: 8.7 })
  })

  it('reads auth as a TOML table, or false for off (TOML has no null); MERIDIAN_EDGE_JWKS_URL replaces the JWKS address', () => {
    expect(edgeConfigFromWorkerEnv({ MERIDIAN_EDGE_CONFIG: { ...DOCUMENT, auth: false } }).auth).toBeNull()
    expect(edgeConfigFromWorkerEnv({ MERIDIAN_EDGE_CONFIG: { ...DOCUMENT, auth: AUTH } }).auth).toEqual({ ...AUTH, jwksUrl: 'https://origin.example/.well-known/jwks.json' })
    const moved = edgeConfigFromWorkerEnv({ MERIDIAN_EDGE_CONFIG: { ...DOCUMENT, auth: AUTH }, MERIDIAN_EDGE_JWKS_URL: 'https://keys.internal/jwks.json' })
    expect(moved.auth?.jwksUrl).toBe('https://keys.internal/jwks.json')
    // Off stays off: the address alone does not switch access control on.
    expect(edgeConfigFromWorkerEnv({ MERIDIAN_EDGE_CONFIG: DOCUMENT, MERIDIAN_EDGE_JWKS_URL: 'https://keys.internal/jwks.json' }).auth).toBeNull()
  })

  it('says what is wrong with a missing or malformed config', () => {
    expect(() => edgeConfigFromWorkerEnv({} as never)).toThrow(EdgeConfigError)
    expect(() => edgeConfigFromWorkerEnv({ MERIDIAN_EDGE_CONFIG: '{"region":' })).toThrow(/not JSON/)
    expect(() => edgeConfigFromWorkerEnv({ MERIDIAN_EDGE_CONFIG: { ...DOCUMENT, home: { lat: 99, lon: 0 } } })).toThrow(/home.lat/)
  })
})
