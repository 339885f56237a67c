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
})
