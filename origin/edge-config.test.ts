import { describe, expect, it } from 'vitest'
import { edgeConfigFor } from './edge-config.ts'
import { loadConfig } from './config/load.ts'
import { parseEdgeConfig } from '../edge/config.ts'

describe('the edge config an origin writes', () => {
  it('lists its locations with coordinates and serve settings, but never its storage credentials', () => {
    const { config } = loadConfig({ MERIDIAN_DATA_DIR: '/tmp/meridian-edge-config-test' })
    const s3 = { ...config.locations[0]!, id: 'eu-s3', driver: 's3' as const, serve: 'redirect' as const, params: { bucket: 'b', region: 'eu-central-1', accessKeyId: 'AKIA-ORIGIN', secretAccessKey: 'origin-secret' } }
    const doc = edgeConfigFor({ ...config, locations: [s3, ...config.locations] }, { region: 'eu', home: { lat: 50, lon: 8 }, originUrl: 'http://127.0.0.1:5000' })
    expect(JSON.stringify(doc)).not.toMatch(/AKIA-ORIGIN|origin-secret/)
    const parsed = parseEdgeConfig(doc)
    expect(parsed.locations).toEqual([expect.objectContaining({ id: 'eu-s3', driver: 's3', params: { bucket: 'b', region: 'eu-central-1' } })])
  })

  it('carries the origin\'s token settings when its access control is on, and null when off', () => {
    const edge = { region: 'eu', home: { lat: 50, lon: 8 }, originUrl: 'http://10.0.0.5:5000' }
    const on = loadConfig({ MERIDIAN_DATA_DIR: '/tmp/meridian-edge-config-test', MERIDIAN_AUTH: 'on', MERIDIAN_PUBLIC_URL: 'https://registry.example' }).config
    expect(parseEdgeConfig(edgeConfigFor(on, edge)).auth).toEqual({
      realm: 'https://registry.example/v2/token', service: 'registry.example', issuer: 'meridian:registry.example',
      jwksUrl: 'http://10.0.0.5:5000/.well-known/jwks.json',
    })
    // Without a public URL the origin's address stands in, as at the origin (authSettingsFor).
    const local = loadConfig({ MERIDIAN_DATA_DIR: '/tmp/meridian-edge-config-test', MERIDIAN_AUTH: 'on' }).config
    expect(parseEdgeConfig(edgeConfigFor(local, edge)).auth).toMatchObject({ realm: 'http://10.0.0.5:5000/v2/token', service: '10.0.0.5:5000' })
    const off = loadConfig({ MERIDIAN_DATA_DIR: '/tmp/meridian-edge-config-test', MERIDIAN_AUTH: 'off' }).config
    expect(parseEdgeConfig(edgeConfigFor(off, edge)).auth).toBeNull()
    // Given explicitly: those, with the JWKS where it was said to be.
    const given = { realm: 'https://r.example/v2/token', service: 'r.example', issuer: 'meridian:r.example' }
    expect(parseEdgeConfig(edgeConfigFor(off, { ...edge, auth: given, jwksUrl: 'https://r.example/.well-known/jwks.json' })).auth)
      .toEqual({ ...given, jwksUrl: 'https://r.example/.well-known/jwks.json' })
  })
})
