import { describe, expect, it } from 'vitest'
import { loadYaml, problemsOf } from './testing.ts'

// A Quay config.yaml as Quay deployments have them: three engines, two replicated by default.
const QUAY_SAMPLE = `
SERVER_HOSTNAME: quay.example.com
PREFERRED_URL_SCHEME: https
DB_URI: postgresql://quay:secret@db/quay
SETUP_COMPLETE: true
FEATURE_STORAGE_REPLICATION: true
DISTRIBUTED_STORAGE_CONFIG:
  us_east:
    - S3Storage
    - host: s3.us-east-1.amazonaws.com
      s3_bucket: quay-us-east
      s3_access_key: \${AWS_ACCESS_KEY_ID}
      s3_secret_key: \${AWS_SECRET_ACCESS_KEY}
      s3_region: us-east-1
      storage_path: /datastorage/registry
  azureEU:
    - AzureStorage
    - azure_container: quay
      azure_account_name: quayeu
      azure_account_key: \${AZURE_KEY}
      storage_path: /registry
  ceph_onprem:
    - RadosGWStorage
    - hostname: rgw.internal
      port: 7480
      is_secure: false
      access_key: rgw-access
      secret_key: rgw-secret
      bucket_name: quay
      storage_path: /datastorage/registry
      maximum_chunk_size_mb: 100
      server_side_assembly: true
DISTRIBUTED_STORAGE_PREFERENCE:
  - ceph_onprem
  - us_east
DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS:
  - us_east
  - azureEU
MERIDIAN_LOCATIONS:
  us_east: { lat: 39.0, lon: -77.5 }
  azureEU: { lat: 52.4, lon: 4.9, serve: proxy }
  ceph_onprem: { lat: 48.1, lon: 11.6 }
namespaces:
  - namespace: acme
    residency: [azureeu]
`

const SECRETS = { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'aws-secret', AZURE_KEY: 'az-key' }

/** A Quay file with one engine and nothing else. */
const oneEngine = (driver: string, params: string, extra = '') => `
DISTRIBUTED_STORAGE_CONFIG:
  main:
    - ${driver}
    - ${params}
MERIDIAN_LOCATIONS:
  main: { lat: 1, lon: 2 }
${extra}`

describe('loadConfig with a Quay config.yaml', () => {
  it('maps the three engines, the preference, the default locations and the replication flag', () => {
    const { config, warnings } = loadYaml(QUAY_SAMPLE, SECRETS)
    expect(config.locations).toEqual([
      {
        id: 'us_east', driver: 's3', lat: 39, lon: -77.5, replicateByDefault: true, serve: 'redirect', readOnly: false,
        params: {
          bucket: 'quay-us-east', region: 'us-east-1', endpoint: 'https://s3.us-east-1.amazonaws.com', forcePathStyle: false,
          accessKeyId: 'AKIA', secretAccessKey: 'aws-secret', prefix: 'datastorage/registry',
        },
      },
      {
        id: 'azureeu', driver: 'azure', lat: 52.4, lon: 4.9, replicateByDefault: true, serve: 'proxy', readOnly: false,
        params: { container: 'quay', accountName: 'quayeu', accountKey: 'az-key', prefix: 'registry' },
      },
      {
        id: 'ceph_onprem', driver: 's3', lat: 48.1, lon: 11.6, replicateByDefault: false, serve: 'redirect', readOnly: false,
        params: {
          bucket: 'quay', region: 'us-east-1', endpoint: 'http://rgw.internal:7480', forcePathStyle: true,
          accessKeyId: 'rgw-access', secretAccessKey: 'rgw-secret', prefix: 'datastorage/registry',
        },
      },
    ])
    expect(config.preference).toEqual(['ceph_onprem', 'us_east'])
    expect(config.replication.enabled).toBe(true)
    expect(config.namespaces).toEqual([{ namespace: 'acme', extraLocations: [], residency: ['azureeu'] }])
    expect(warnings).toEqual([
      'ignored 4 Quay setting(s) that Meridian does not use: SERVER_HOSTNAME, PREFERRED_URL_SCHEME, DB_URI, SETUP_COMPLETE',
      'DISTRIBUTED_STORAGE_CONFIG.azureEU: location id "azureEU" becomes "azureeu" (Meridian ids are lowercase)',
      'DISTRIBUTED_STORAGE_CONFIG: Meridian stores blobs under blobs/<algorithm>/..., Quay under sha256/...: blobs Quay already wrote are not visible to Meridian, even in the same bucket and storage_path',
      'namespaces[0].residency: no writable location of the preference lies inside it: this origin will refuse pushes to acme/*',
    ])
  })

  it('lets MERIDIAN_STORAGE_PREFERENCE override DISTRIBUTED_STORAGE_PREFERENCE', () => {
    const { config } = loadYaml(QUAY_SAMPLE, { ...SECRETS, MERIDIAN_STORAGE_PREFERENCE: 'azureeu,us_east' })
    expect(config.preference).toEqual(['azureeu', 'us_east'])
  })

  it('uses every engine in declaration order when Quay names no preference, and 0,0 without coordinates', () => {
    const { config, warnings } = loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  local_a: [LocalStorage, { storage_path: /datastorage/registry }]
  local_b: [LocalStorage, { storage_path: b }]
`)
    expect(config.preference).toEqual(['local_a', 'local_b'])
    expect(config.locations.map((l) => [l.params.root, l.serve, l.lat, l.lon])).toEqual([
      ['/datastorage/registry', 'proxy', 0, 0],
      ['/srv/meridian/b', 'proxy', 0, 0],
    ])
    expect(config.replication.enabled).toBe(false)
    expect(warnings).toContain('DISTRIBUTED_STORAGE_CONFIG.local_a: no coordinates, using 0,0: set MERIDIAN_LOCATIONS.local_a.lat and .lon so edges can pick the nearest location')
  })

  it('maps FEATURE_PROXY_STORAGE to serve: proxy, unless MERIDIAN_LOCATIONS says otherwise', () => {
    const { config } = loadYaml(`
FEATURE_PROXY_STORAGE: true
DISTRIBUTED_STORAGE_CONFIG:
  a: [S3Storage, { s3_bucket: a, storage_path: / }]
  b: [S3Storage, { s3_bucket: b, storage_path: / }]
MERIDIAN_LOCATIONS:
  b: { lat: 0, lon: 0, serve: redirect, readOnly: true }
`)
    expect(config.locations.map((l) => [l.id, l.serve, l.readOnly])).toEqual([['a', 'proxy', false], ['b', 'redirect', true]])
  })

  it('warns that default locations do nothing while FEATURE_STORAGE_REPLICATION is off', () => {
    const { config, warnings } = loadYaml(oneEngine('LocalStorage', '{ storage_path: x }', 'DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [main]'))
    expect(config.replication.enabled).toBe(false)
    expect(warnings).toContain('DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: has no effect while FEATURE_STORAGE_REPLICATION is not true: blobs stay where they were pushed')
  })

  it('reads Meridian replication settings beside the Quay keys', () => {
    const { config } = loadYaml(oneEngine('LocalStorage', '{ storage_path: x }', 'FEATURE_STORAGE_REPLICATION: true\nreplication: { concurrency: 2 }'))
    expect(config.replication).toMatchObject({ enabled: true, concurrency: 2 })
  })

  it('takes extra driver parameters from MERIDIAN_LOCATIONS.<id>.params', () => {
    const { config } = loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  gcs_eu: [GoogleCloudStorage, { access_key: GOOG1, secret_key: s, bucket_name: quay-eu, storage_path: /registry }]
MERIDIAN_LOCATIONS:
  gcs_eu: { lat: 50, lon: 8, params: { keyFilename: /etc/gcs.json } }
`)
    expect(config.locations[0]!.params).toEqual({ bucket: 'quay-eu', keyFilename: '/etc/gcs.json', prefix: 'registry' })
  })
})

describe('loadConfig refuses a Quay config.yaml', () => {
  it('with engines it cannot map, naming the location and the driver', () => {
    expect(problemsOf(() => loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  odd: [FancyStorage, {}]
  fine: [LocalStorage, { storage_path: x }]
DISTRIBUTED_STORAGE_PREFERENCE: [fine]
`))).toEqual([
      expect.stringMatching(/^DISTRIBUTED_STORAGE_CONFIG\.odd\[0\]: cannot map location "odd": unknown Quay storage driver "FancyStorage" \(Meridian maps S3Storage, /),
    ])
  })

  it('with missing parameters, by their Quay names', () => {
    expect(problemsOf(() => loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  s3: [S3Storage, { s3_access_key: k, storage_path: / }]
  rgw: [RadosGWStorage, { bucket_name: b, access_key: k, secret_key: s }]
  az: [AzureStorage, { azure_container: c, azure_account_name: n }]
`))).toEqual([
      'DISTRIBUTED_STORAGE_CONFIG.s3[1].s3_bucket: required',
      'DISTRIBUTED_STORAGE_CONFIG.s3[1]: s3_access_key and s3_secret_key go together: set both or neither',
      'DISTRIBUTED_STORAGE_CONFIG.rgw[1].hostname: required',
      'DISTRIBUTED_STORAGE_CONFIG.az[1]: azure_account_name needs exactly one of azure_account_key or sas_token',
    ])
  })

  it('with references to engines that do not exist', () => {
    expect(problemsOf(() => loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  a: [LocalStorage, { storage_path: x }]
DISTRIBUTED_STORAGE_PREFERENCE: [a, b]
DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [c]
MERIDIAN_LOCATIONS:
  d: { lat: 0, lon: 0 }
`))).toEqual([
      'MERIDIAN_LOCATIONS.d: no such location in DISTRIBUTED_STORAGE_CONFIG',
      'DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS[0]: unknown location "c"',
      'DISTRIBUTED_STORAGE_PREFERENCE[1]: unknown location "b" (known: a)',
    ])
  })

  it('with ids that collide once lowercased, malformed tuples and misplaced Meridian keys', () => {
    expect(problemsOf(() => loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  Main: [LocalStorage, { storage_path: x }]
  main: [LocalStorage, { storage_path: y }]
  broken: LocalStorage
locations: {}
preference: [main]
DISTRIBUTED_STORAGE_PREFERENCE: [main]
FEATURE_STORAGE_REPLICATION: true
replication: { enabled: false }
`))).toEqual([
      'locations: a Quay file declares locations in DISTRIBUTED_STORAGE_CONFIG; coordinates and serve modes go in MERIDIAN_LOCATIONS',
      'DISTRIBUTED_STORAGE_CONFIG.main: duplicate location id "main" (also DISTRIBUTED_STORAGE_CONFIG.Main)',
      'DISTRIBUTED_STORAGE_CONFIG.broken: expected [QuayDriverName, {parameters}]',
      'preference: give either preference or DISTRIBUTED_STORAGE_PREFERENCE, not both',
      'replication.enabled: contradicts FEATURE_STORAGE_REPLICATION: true',
    ])
  })
})
