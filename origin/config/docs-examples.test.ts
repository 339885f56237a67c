import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadYaml } from './testing.ts'

// docs/configuration.md is what operators copy from: its complete examples must load.
const doc = readFileSync(fileURLToPath(new URL('../../docs/configuration.md', import.meta.url)), 'utf8')
const examples = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((y) => /^(locations|origin|DISTRIBUTED_STORAGE_CONFIG|SERVER_HOSTNAME):/m.test(y))
const env = {
  AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', DB_PASSWORD: 'pw', AZURE_STORAGE_CONNECTION_STRING: 'cs',
  AZURE_KEY: 'key', RGW_SECRET: 'rgw', MERIDIAN_URL_SIGNING_KEY: 'k'.repeat(32),
}

describe('docs/configuration.md', () => {
  it('has a Meridian and a Quay example', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2)
  })

  it.each(examples.map((yaml, i) => [i, yaml] as const))('example %i loads', (_i, yaml) => {
    const { config } = loadYaml(yaml, env)
    expect(config.locations.length).toBeGreaterThan(0)
  })
})
