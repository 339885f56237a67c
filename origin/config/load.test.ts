import { describe, expect, it } from 'vitest'
import { resolve } from 'node:path'
import { loadConfig } from './load.ts'
import { TEST_DATA_DIR, loadYaml, problemsOf } from './testing.ts'
import { DEFAULT_ORIGIN } from './defaults.ts'

const DATA = TEST_DATA_DIR
const load = loadYaml

const MERIDIAN_SAMPLE = `
origin:
  host: 0.0.0.0
  port: 8080
  publicUrl: https://registry.example.com/
  deleteEnabled: false
databaseUrl: postgres://meridian:\${DB_PASSWORD}@db.internal/meridian
locations:
  us-east-s3:
    driver: s3
    params:
      bucket: meridian-us-east
      region: us-east-1
      accessKeyId: \${AWS_ACCESS_KEY_ID}
      secretAccessKey: \${AWS_SECRET_ACCESS_KEY}
      prefix: /registry/
    lat: 39.0
    lon: -77.5
    replicateByDefault: true
  eu-gcs:
    driver: gcs
    params: { bucket: meridian-eu, keyFilename: /etc/meridian/gcs.json }
    lat: 50.1
    lon: 8.7
  eu-azure:
    driver: azure
    params: { container: blobs, connectionString: "\${AZURE_CONNECTION}" }
    lat: 52.4
    lon: 4.9
    serve: proxy
  ap-local:
    driver: fs
    params: { root: ap }
    lat: 1.3
    lon: 103.8
    replicateByDefault: true
  archive:
    driver: fs
    params: { root: /mnt/archive }
    lat: 39.0
    lon: -77.5
    readOnly: true
preference: [us-east-s3, eu-gcs]
namespaces:
  - namespace: acme
    extraLocations: [eu-gcs]
  - namespace: euro
    extraLocations: [eu-azure]
    residency: ['eu-*']
replication:
  concurrency: 16
  maxAttempts: 3
`

const SECRETS = {
  DB_PASSWORD: 'pw',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AZURE_CONNECTION: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k',
}

describe('loadConfig without a file', () => {
  it('gives three fs locations under the data directory, all default, served by proxy', () => {
    const { config, warnings } = load(null)
    expect(warnings).toEqual([])
    expect(config.dataDir).toBe(DATA)
    expect(config.databaseUrl).toBe(`sqlite:${DATA}/meridian.db`)
    expect(config.origin).toEqual({ host: '127.0.0.1', port: 5000, deleteEnabled: true, publicUrl: null, edgeToken: null, trustedProxies: [], headersTimeoutMs: 30_000, idleTimeoutMs: 120_000, maxConnections: 1_000, manifestConcurrency: 4, manifestBodyBytes: 64 * 1024 * 1024, urlSigningKey: null, presignSeconds: 1200, changeRetentionHours: 168 })
    expect(config.preference).toEqual(['us-east', 'eu-west', 'ap-south'])
    expect(config.locations.map((l) => [l.id, l.lat, l.lon])).toEqual([
      ['us-east', 39.0, -77.5],
      ['eu-west', 53.3, -6.3],
      ['ap-south', 19.1, 72.9],
    ])
    for (const l of config.locations) {
      expect(l).toMatchObject({ driver: 'fs', replicateByDefault: true, serve: 'proxy', readOnly: false, params: { root: `${DATA}/locations/${l.id}` } })
    }
    expect(config.replication).toEqual({
      enabled: true, workerInProcess: true, maxAttempts: 8, concurrency: 4, leaseSeconds: 60,
      backoffBaseMs: 500, backoffMaxMs: 300000, reconcileIntervalSeconds: 60, jobRetentionHours: 168,
    })
  })

  it('resolves the default data directory ./data against the working directory', () => {
    const { config } = loadConfig({})
    expect(config.dataDir).toBe(resolve('data'))
  })

  it('takes origin settings and the database from the environment', () => {
    const { config } = load(null, {
      MERIDIAN_ORIGIN_HOST: '0.0.0.0',
      MERIDIAN_ORIGIN_PORT: '0',
      MERIDIAN_PUBLIC_URL: 'https://r.example.com/',
      MERIDIAN_DELETE_ENABLED: 'false',
      DATABASE_URL: 'postgres://u:p@db/meridian',
    })
    expect(config.origin).toEqual({ ...DEFAULT_ORIGIN, host: '0.0.0.0', port: 0, deleteEnabled: false, publicUrl: 'https://r.example.com' })
    expect(config.databaseUrl).toBe('postgres://u:p@db/meridian')
  })

  it('takes the HTTP limits from the environment over the file, and refuses nonsense', () => {
    const file = 'locations: { a: { driver: memory, lat: 0, lon: 0 } }\norigin: { headersTimeoutMs: 5000, maxConnections: 50, manifestBodyBytes: 8388608 }'
    const { config } = load(file, { MERIDIAN_HEADERS_TIMEOUT_MS: '2000', MERIDIAN_IDLE_TIMEOUT_MS: '9000', MERIDIAN_MANIFEST_CONCURRENCY: '2' })
    expect(config.origin).toMatchObject({ headersTimeoutMs: 2000, idleTimeoutMs: 9000, maxConnections: 50, manifestConcurrency: 2, manifestBodyBytes: 8 * 1024 * 1024 })
    expect(load(file, { MERIDIAN_MANIFEST_BODY_BYTES: '16777216' }).config.origin.manifestBodyBytes).toBe(16 * 1024 * 1024)
    expect(problemsOf(() => load(null, { MERIDIAN_MAX_CONNECTIONS: '0', MERIDIAN_HEADERS_TIMEOUT_MS: '1.5', MERIDIAN_MANIFEST_BODY_BYTES: '65536' }))).toEqual([
      'MERIDIAN_HEADERS_TIMEOUT_MS: expected an integer, got 1.5',
      'MERIDIAN_MAX_CONNECTIONS: must be >= 1, got 0',
      // A manifest at the 4 MiB limit must fit in the budget.
      'MERIDIAN_MANIFEST_BODY_BYTES: must be >= 4194304, got 65536',
    ])
  })

  it('resolves a relative sqlite path against the data directory and keeps :memory:', () => {
    expect(load(null, { DATABASE_URL: 'sqlite:meta/m.db' }).config.databaseUrl).toBe(`sqlite:${DATA}/meta/m.db`)
    expect(load(null, { DATABASE_URL: 'sqlite::memory:' }).config.databaseUrl).toBe('sqlite::memory:')
  })

  it('treats empty variables as unset', () => {
    const { config } = load(null, { MERIDIAN_ORIGIN_PORT: '', DATABASE_URL: '', MERIDIAN_STORAGE_PREFERENCE: '' })
    expect(config.origin.port).toBe(5000)
    expect(config.preference).toEqual(['us-east', 'eu-west', 'ap-south'])
  })

  it('reorders the built-in locations with MERIDIAN_STORAGE_PREFERENCE', () => {
    expect(load(null, { MERIDIAN_STORAGE_PREFERENCE: ' eu-west , us-east' }).config.preference).toEqual(['eu-west', 'us-east'])
  })

  it('accepts QUAY_DISTRIBUTED_STORAGE_PREFERENCE as an alias, and both when they agree', () => {
    expect(load(null, { QUAY_DISTRIBUTED_STORAGE_PREFERENCE: 'ap-south' }).config.preference).toEqual(['ap-south'])
    const both = { MERIDIAN_STORAGE_PREFERENCE: 'ap-south,us-east', QUAY_DISTRIBUTED_STORAGE_PREFERENCE: 'ap-south, us-east' }
    expect(load(null, both).config.preference).toEqual(['ap-south', 'us-east'])
  })
})

describe('loadConfig with a Meridian file', () => {
  it('reads every block, fills defaults and substitutes ${VAR}', () => {
    const { config, warnings } = load(MERIDIAN_SAMPLE, SECRETS)
    expect(config.origin).toEqual({ ...DEFAULT_ORIGIN, host: '0.0.0.0', port: 8080, deleteEnabled: false, publicUrl: 'https://registry.example.com' })
    expect(config.databaseUrl).toBe('postgres://meridian:pw@db.internal/meridian')
    expect(config.preference).toEqual(['us-east-s3', 'eu-gcs'])
    const [us, eu, az, ap, archive] = config.locations
    expect(us).toEqual({
      id: 'us-east-s3', driver: 's3', lat: 39, lon: -77.5, replicateByDefault: true, serve: 'redirect', readOnly: false,
      params: { bucket: 'meridian-us-east', region: 'us-east-1', forcePathStyle: false, accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', prefix: 'registry' },
    })
    expect(eu).toMatchObject({ driver: 'gcs', serve: 'redirect', replicateByDefault: false, params: { bucket: 'meridian-eu', keyFilename: '/etc/meridian/gcs.json' } })
    expect(az).toMatchObject({ driver: 'azure', serve: 'proxy', params: { container: 'blobs', connectionString: SECRETS.AZURE_CONNECTION } })
    expect(ap).toMatchObject({ driver: 'fs', serve: 'proxy', params: { root: `${DATA}/ap` } })
    expect(archive).toMatchObject({ readOnly: true, params: { root: '/mnt/archive' } })
    expect(config.namespaces).toEqual([
      { namespace: 'acme', extraLocations: ['eu-gcs'], residency: null },
      { namespace: 'euro', extraLocations: ['eu-azure'], residency: ['eu-*'] },
    ])
    expect(config.replication).toMatchObject({ enabled: true, concurrency: 16, maxAttempts: 3, leaseSeconds: 60 })
    expect(warnings).toEqual([])
  })

  it('lets the environment override the file', () => {
    const { config } = load(MERIDIAN_SAMPLE, {
      ...SECRETS,
      MERIDIAN_ORIGIN_PORT: '9000',
      MERIDIAN_DELETE_ENABLED: 'yes',
      DATABASE_URL: 'sqlite:/var/lib/m.db',
      MERIDIAN_STORAGE_PREFERENCE: 'eu-gcs,us-east-s3',
    })
    expect(config.origin).toMatchObject({ host: '0.0.0.0', port: 9000, deleteEnabled: true })
    expect(config.databaseUrl).toBe('sqlite:/var/lib/m.db')
    expect(config.preference).toEqual(['eu-gcs', 'us-east-s3'])
  })

  it('accepts locations as a list, and defaults the preference to declaration order', () => {
    const { config } = load(`
locations:
  - { id: b, driver: memory, lat: 0, lon: 0, replicateByDefault: true }
  - { id: a, driver: fs, lat: 10, lon: 10, replicateByDefault: true }
`)
    expect(config.locations.map((l) => l.id)).toEqual(['b', 'a'])
    expect(config.preference).toEqual(['b', 'a'])
    expect(config.locations[1]!.params).toEqual({ root: `${DATA}/locations/a` })
  })

  it('accepts numbers and booleans written as strings, so they can come from ${VAR}', () => {
    const { config } = load(`
origin: { port: "\${PORT}" }
locations:
  x: { driver: memory, lat: "\${LAT}", lon: "-3.5", readOnly: "false", replicateByDefault: "\${DEFAULT}" }
`, { PORT: '7000', LAT: '12.5', DEFAULT: 'true' })
    expect(config.origin.port).toBe(7000)
    expect(config.locations[0]).toMatchObject({ lat: 12.5, lon: -3.5, readOnly: false, replicateByDefault: true })
  })

  it('warns about unknown top-level keys and keeps going', () => {
    const { warnings } = load(`
colour: blue
locations: { x: { driver: memory, lat: 0, lon: 0, replicateByDefault: true } }
`)
    expect(warnings).toEqual([expect.stringMatching(/^colour: unknown top-level key, ignored/)])
  })

  it('warns about a location nothing will ever write to', () => {
    const { warnings } = load(`
locations:
  a: { driver: memory, lat: 0, lon: 0 }
  b: { driver: memory, lat: 0, lon: 0 }
preference: [a]
`)
    expect(warnings).toEqual([expect.stringMatching(/^locations\.b: not in the preference, not a default location/)])
  })

  it('reports an unreadable MERIDIAN_CONFIG', () => {
    const problems = problemsOf(() => loadConfig({ MERIDIAN_CONFIG: '/nope.yaml' }, { readFile: () => { throw new Error('ENOENT: no such file') } }))
    expect(problems).toEqual(['MERIDIAN_CONFIG: cannot read /nope.yaml: ENOENT: no such file'])
  })

  it('reports YAML syntax errors with file, line and column', () => {
    const problems = problemsOf(() => load('locations:\n  a: 1\n  a: 2\n'))
    expect(problems).toEqual([expect.stringMatching(/^\/etc\/meridian\.yaml:3:3: Map keys must be unique/)])
  })
})
