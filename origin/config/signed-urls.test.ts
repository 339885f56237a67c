import { describe, expect, it } from 'vitest'
import { loadYaml, problemsOf } from './testing.ts'

const KEY = 'k'.repeat(40)

const file = (extra = '', fsParams = '{ root: disk, publicUrl: "https://disk.example.com/" }') => `
${extra}
locations:
  disk:
    driver: fs
    params: ${fsParams}
    lat: 1.3
    lon: 103.8
`

describe('signed local-disk URLs in the configuration', () => {
  it('an fs location with a publicUrl can presign, so it is served by redirect unless told to proxy', () => {
    const { config } = loadYaml(file())
    expect(config.locations[0]).toMatchObject({ serve: 'redirect', params: { root: '/srv/meridian/disk', publicUrl: 'https://disk.example.com' } })
    expect(loadYaml(file('', '{ root: disk }')).config.locations[0]!.serve).toBe('proxy')
    expect(problemsOf(() => loadYaml(file('', '{ root: disk, publicUrl: "ftp://x" }')))).toEqual(['locations.disk.params.publicUrl: expected an http(s) URL, got "ftp://x"'])
  })

  it('reads the signing key and the URL lifetime from the origin block, the environment winning', () => {
    const { config } = loadYaml(file(`origin: { urlSigningKey: "${KEY}", presignSeconds: 900 }`))
    expect(config.origin).toMatchObject({ urlSigningKey: KEY, presignSeconds: 900 })
    const env = loadYaml(file(`origin: { urlSigningKey: "${KEY}" }`), { MERIDIAN_URL_SIGNING_KEY: 'e'.repeat(32), MERIDIAN_PRESIGN_SECONDS: '600' }).config
    expect(env.origin).toMatchObject({ urlSigningKey: 'e'.repeat(32), presignSeconds: 600 })
    expect(loadYaml(null).config.origin).toMatchObject({ urlSigningKey: null, presignSeconds: 1200 })
  })

  it('refuses a short signing key without echoing it, and lifetimes outside 10 s .. 7 days', () => {
    const problems = problemsOf(() => loadYaml(null, { MERIDIAN_URL_SIGNING_KEY: 'hunter2', MERIDIAN_PRESIGN_SECONDS: '5' }))
    expect(problems).toEqual([
      'MERIDIAN_URL_SIGNING_KEY: too short: at least 32 characters (e.g. `openssl rand -base64 32`)',
      'MERIDIAN_PRESIGN_SECONDS: must be 10..604800, got 5',
    ])
    expect(problems.join('\n')).not.toContain('hunter2')
  })
})
