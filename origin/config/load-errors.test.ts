import { describe, expect, it } from 'vitest'
import { loadConfig } from './load.ts'
import { ConfigError } from './config-error.ts'
import { loadYaml, problemsOf } from './testing.ts'

/** A valid location entry to build broken files around. */
const OK = '{ driver: memory, lat: 0, lon: 0, replicateByDefault: true }'

const problems = (yaml: string | null, env: Record<string, string> = {}) => problemsOf(() => loadYaml(yaml, env))

describe('loadConfig refuses', () => {
  it('reports every problem at once, one per line, each with its path', () => {
    const yaml = `
locations:
  eu-s3: { driver: s3, params: { region: eu-west-1 }, lat: 50, lon: 8 }
  us-s3: { driver: s3, params: { bucket: b }, lat: 40, lon: -75 }
preference: [eu-s3, us-gcs]
namespaces:
  - namespace: acme
    residency: ['ch-*']
`
    let error: unknown
    try {
      loadYaml(yaml)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const { problems: list, message } = error as ConfigError
    expect(list).toEqual([
      'locations.eu-s3.params.bucket: required',
      'preference[1]: unknown location "us-gcs" (known: eu-s3, us-s3)',
      'namespaces[0].residency: matches no location',
    ])
    expect(message).toBe(`invalid configuration (3 problems):\n${list.map((p) => `  - ${p}`).join('\n')}`)
  })

  it('duplicate location ids', () => {
    expect(problems(`locations:\n  - { id: a, ${OK.slice(2)}\n  - { id: a, ${OK.slice(2)}\n`)).toEqual([
      'locations[1].id: duplicate location id "a" (also locations[0])',
    ])
  })

  it('invalid location ids', () => {
    expect(problems(`locations:\n  EU_West: ${OK}\n  -x: ${OK}\n`)).toEqual([
      expect.stringMatching(/^locations\.EU_West: invalid location id "EU_West"/),
      expect.stringMatching(/^locations\.-x: invalid location id "-x"/),
    ])
  })

  it('a preference with no writable location', () => {
    expect(problems(`
locations:
  a: { driver: memory, lat: 0, lon: 0, readOnly: true }
  b: ${OK}
preference: [a]
`)).toEqual(['preference: no writable location: every listed location is read-only, so pushes could go nowhere'])
  })

  it('a location listed twice in the preference', () => {
    expect(problems(`locations: { a: ${OK} }\npreference: [a, a]`)).toEqual(['preference[1]: "a" is listed twice'])
  })

  it('an extra location outside the namespace\'s own residency, unknown or read-only', () => {
    expect(problems(`
locations:
  eu-1: ${OK}
  us-1: ${OK}
  ro: { driver: memory, lat: 0, lon: 0, readOnly: true }
namespaces:
  - namespace: acme
    extraLocations: [us-1, nowhere, ro]
    residency: ['eu-*', ro]
`)).toEqual([
      'namespaces[0].extraLocations[0]: "us-1" is outside the namespace\'s own residency (eu-*, ro)',
      'namespaces[0].extraLocations[1]: unknown location "nowhere" (known: eu-1, us-1, ro)',
      'namespaces[0].extraLocations[2]: "ro" is read-only and never receives replication',
    ])
  })

  it('an empty residency, which no location matches', () => {
    expect(problems(`locations: { a: ${OK} }\nnamespaces: [{ namespace: acme, residency: [] }]`)).toEqual([
      'namespaces[0].residency: matches no location',
    ])
  })

  it('malformed namespaces', () => {
    expect(problems(`
locations: { a: ${OK} }
namespaces:
  - namespace: Acme/app
  - { namespace: ok, residency: ['EU?'], extraLocation: [a] }
  - namespace: ok
  - {}
`)).toEqual([
      expect.stringMatching(/^namespaces\[0\]\.namespace: "Acme\/app" is not a namespace/),
      'namespaces[1].extraLocation: unknown key (expected one of: namespace, extraLocations, residency, allowSparseIndexes)',
      'namespaces[1].residency[0]: "EU?" is not a location id glob (location id characters and \'*\')',
      'namespaces[2].namespace: duplicate namespace "ok" (also namespaces[1])',
      'namespaces[3].namespace: required',
    ])
  })

  it('an id in MERIDIAN_STORAGE_PREFERENCE that is not configured', () => {
    expect(problems(null, { MERIDIAN_STORAGE_PREFERENCE: 'us-east,us-gcs' })).toEqual([
      'MERIDIAN_STORAGE_PREFERENCE[1]: unknown location "us-gcs" (known: us-east, eu-west, ap-south)',
    ])
    expect(problems(null, { QUAY_DISTRIBUTED_STORAGE_PREFERENCE: 'local_us' })).toEqual([
      'QUAY_DISTRIBUTED_STORAGE_PREFERENCE[0]: unknown location "local_us" (known: us-east, eu-west, ap-south)',
    ])
  })

  it('both preference variables set to different lists', () => {
    expect(problems(null, { MERIDIAN_STORAGE_PREFERENCE: 'us-east', QUAY_DISTRIBUTED_STORAGE_PREFERENCE: 'eu-west' })).toEqual([
      'MERIDIAN_STORAGE_PREFERENCE: "us-east" differs from QUAY_DISTRIBUTED_STORAGE_PREFERENCE "eu-west": set one of them',
    ])
  })

  it('a preference variable that lists nothing', () => {
    expect(problems(null, { MERIDIAN_STORAGE_PREFERENCE: ' , ' })).toEqual(['MERIDIAN_STORAGE_PREFERENCE: lists no location id'])
  })

  it('an unset ${VAR}, at the path that uses it', () => {
    expect(problems(`
locations:
  eu-s3: { driver: s3, params: { bucket: b, accessKeyId: "\${KEY_ID}", secretAccessKey: "\${SECRET}" }, lat: 0, lon: 0, replicateByDefault: true }
`, { KEY_ID: 'id' })).toEqual(['locations.eu-s3.params.secretAccessKey: environment variable SECRET is not set'])
  })

  it('bad environment values', () => {
    expect(problems(null, {
      MERIDIAN_ORIGIN_PORT: '70000',
      MERIDIAN_DELETE_ENABLED: 'maybe',
      MERIDIAN_PUBLIC_URL: 'registry.example.com',
      DATABASE_URL: 'mysql://root:hunter2@db/meridian',
    })).toEqual([
      'MERIDIAN_ORIGIN_PORT: must be 0..65535, got 70000',
      'MERIDIAN_PUBLIC_URL: expected an http(s) URL, got "registry.example.com"',
      'MERIDIAN_DELETE_ENABLED: expected true or false, got "maybe"',
      'DATABASE_URL: expected sqlite:<path> or a postgres:// URL',
    ])
  })

  it('location fields of the wrong kind', () => {
    expect(problems(`
locations:
  a: { driver: S3Storage, lat: 0, lon: 0 }
  b: { driver: fs, lat: 91, lon: -181, serve: redirect, readOnly: true, replicateByDefault: true }
  c: { driver: memory, params: { size: 1 }, serve: fast, readonly: true, replicateByDefault: true }
  d:
`)).toEqual([
      'locations.a.driver: unknown driver "S3Storage" (expected fs, s3, azure, gcs, swift, memory) (Quay driver names belong in a DISTRIBUTED_STORAGE_CONFIG file)',
      'locations.b.lat: must be -90..90, got 91',
      'locations.b.lon: must be -180..180, got -181',
      'locations.b.serve: "redirect" needs a driver that can presign URLs (s3, azure, gcs, or fs with params.publicUrl); fs without params.publicUrl can only "proxy"',
      'locations.b.replicateByDefault: a read-only location never receives replication, so it cannot be a default location',
      'locations.c.readonly: unknown key (expected one of: driver, params, lat, lon, replicateByDefault, serve, readOnly)',
      'locations.c.params.size: unknown key (expected one of: )',
      'locations.c.serve: expected "redirect" or "proxy", got "fast"',
      'locations.c.lat: required',
      'locations.c.lon: required',
      'locations.d: empty location: expected driver, params, lat and lon',
    ])
  })

  it('driver parameters that do not fit together', () => {
    expect(problems(`
locations:
  s: { driver: s3, params: { bucket: 1234, accessKeyId: k, endpoint: "minio:9000", bukket: x }, lat: 0, lon: 0, replicateByDefault: true }
  az1: { driver: azure, params: { container: c, connectionString: x, accountName: a }, lat: 0, lon: 0 }
  az2: { driver: azure, params: { container: c }, lat: 0, lon: 0 }
  az3: { driver: azure, params: { container: c, accountName: a }, lat: 0, lon: 0 }
  g: { driver: gcs, params: { apiEndpoint: "ftp://x" }, lat: 0, lon: 0 }
`)).toEqual([
      'locations.s.params.bukket: unknown key (expected one of: bucket, region, endpoint, forcePathStyle, accessKeyId, secretAccessKey, prefix)',
      'locations.s.params.bucket: expected a string, got 1234 (quote it)',
      'locations.s.params.endpoint: expected an http(s) URL, got "minio:9000"',
      'locations.s.params: accessKeyId and secretAccessKey go together: set both or neither',
      'locations.az1.params: connectionString already names the account: drop accountName, accountKey, sasToken, endpoint',
      'locations.az2.params: azure needs connectionString, or accountName with accountKey or sasToken',
      'locations.az3.params: accountName needs exactly one of accountKey or sasToken',
      'locations.g.params.bucket: required',
      'locations.g.params.apiEndpoint: expected an http(s) URL, got "ftp://x"',
    ])
  })

  it('bad origin, database and replication blocks', () => {
    expect(problems(`
origin: { port: 5000.5, publicUrl: "https://r.example.com/?x=1", tls: true }
databaseUrl: "sqlite:"
locations: { a: ${OK} }
replication: { concurrency: 0, backoffBaseMs: 1000, backoffMaxMs: 10, workers: 3, enabled: sometimes }
`)).toEqual([
      'origin.tls: unknown key (expected one of: host, port, deleteEnabled, publicUrl, edgeToken, trustedProxies, urlSigningKey, presignSeconds, changeRetentionHours, headersTimeoutMs, idleTimeoutMs, maxConnections, manifestConcurrency, manifestBodyBytes)',
      'origin.port: expected an integer, got 5000.5',
      'origin.publicUrl: expected an http(s) URL without query or fragment, got "https://r.example.com/?x=1"',
      'replication.workers: unknown key (expected one of: enabled, workerInProcess, maxAttempts, concurrency, leaseSeconds, backoffBaseMs, backoffMaxMs, reconcileIntervalSeconds, jobRetentionHours)',
      'replication.enabled: expected true or false, got "sometimes"',
      'replication.concurrency: must be >= 1, got 0',
      'replication.backoffMaxMs: must be >= backoffBaseMs (1000), got 10',
      'databaseUrl: sqlite: needs a file path, or :memory:',
    ])
  })

  it('a file without locations, with no locations, or that is not a map', () => {
    expect(problems('origin: { port: 1 }')).toEqual(['locations: required (a config file replaces the built-in locations)'])
    expect(problems('locations: {}')).toEqual(['locations: at least one location is required'])
    expect(problems('- a\n- b')).toEqual(['/etc/meridian.yaml: expected a map at the top of the file'])
  })

  it('without ever printing a database password', () => {
    const error = (() => {
      try {
        loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/x' })
      } catch (e) {
        return e as Error
      }
    })()
    expect(error?.message).not.toContain('hunter2')
  })
})
