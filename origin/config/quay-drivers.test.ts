import { describe, expect, it } from 'vitest'
import { mapQuayDriver, type QuayMapping } from './quay-drivers.ts'
import { loadYaml, problemsOf } from './testing.ts'

function map(driver: string, params: Record<string, unknown>): QuayMapping {
  const mapping = mapQuayDriver(driver, params)
  if (typeof mapping === 'string') throw new Error(mapping)
  return mapping
}

describe('mapQuayDriver', () => {
  it('maps S3Storage, building an https endpoint from host and port', () => {
    const m = map('S3Storage', { host: 'minio.internal', port: 9000, s3_bucket: 'b', s3_access_key: 'k', s3_secret_key: 's', s3_region: 'eu-west-1', storage_path: '/r' })
    expect(m.driver).toBe('s3')
    expect(m.params).toEqual({ bucket: 'b', accessKeyId: 'k', secretAccessKey: 's', region: 'eu-west-1', prefix: '/r', endpoint: 'https://minio.internal:9000' })
    expect(m.quayName('endpoint')).toBe('host')
    expect(m.ignored).toEqual([])
  })

  it('prefers endpoint_url over host, as Quay does', () => {
    const m = map('S3Storage', { host: 'ignored.example', endpoint_url: 'http://s3.local:9000', s3_bucket: 'b', storage_path: '' })
    expect(m.params.endpoint).toBe('http://s3.local:9000')
    expect(m.quayName('endpoint')).toBe('endpoint_url')
  })

  it('treats empty and null Quay values as not set', () => {
    expect(map('S3Storage', { s3_bucket: 'b', s3_access_key: '', s3_secret_key: null, host: '' }).params).toEqual({ bucket: 'b' })
  })

  it('maps STSS3Storage user keys and says the role is not assumed', () => {
    const m = map('STSS3Storage', { sts_role_arn: 'arn:aws:iam::1:role/q', sts_user_access_key: 'k', sts_user_secret_key: 's', s3_bucket: 'b', storage_path: '/' })
    expect(m.params).toMatchObject({ accessKeyId: 'k', secretAccessKey: 's', bucket: 'b' })
    expect(m.quayName('accessKeyId')).toBe('sts_user_access_key')
    expect(m.ignored).toEqual([])
    expect(m.notes).toEqual([expect.stringMatching(/^STSS3Storage: sts_role_arn is not assumed/)])
  })

  it.each(['CloudFrontedS3Storage', 'CloudFlareStorage', 'AkamaiS3Storage'])('maps %s to its bucket and drops the CDN', (driver) => {
    const m = map(driver, {
      cloudfront_distribution_domain: 'd.cloudfront.net', cloudfront_key_id: 'K', cloudfront_privatekey_filename: 'k.pem',
      cloudflare_domain: 'cdn.example', akamai_domain: 'a.example', akamai_shared_secret: 'x',
      s3_bucket: 'b', s3_region: 'us-east-2', storage_path: '/images',
    })
    expect(m.params).toEqual({ bucket: 'b', region: 'us-east-2', prefix: '/images' })
    expect(m.ignored).toEqual([])
    expect(m.notes).toEqual([`${driver}: the CDN in front of the bucket is not carried over; pulls redirect to presigned S3 URLs`])
  })

  it('maps MultiCDNStorage through its storage_config', () => {
    const m = map('MultiCDNStorage', {
      storage_config: { s3_bucket: 'b', s3_region: 'us-east-1', s3_access_key: 'k', s3_secret_key: 's', storage_path: '/images' },
      providers: { CF: ['CloudFlareStorage', { cloudflare_domain: 'x' }] },
      default_provider: 'CF',
      rules: [],
    })
    expect(m.params).toEqual({ bucket: 'b', region: 'us-east-1', accessKeyId: 'k', secretAccessKey: 's', prefix: '/images' })
    expect(m.quayName('bucket')).toBe('storage_config.s3_bucket')
    expect(map('MultiCDNStorage', { storage_config: {} }).quayName('bucket')).toBe('storage_config.s3_bucket')
    expect(mapQuayDriver('MultiCDNStorage', { providers: {} })).toMatch(/needs a storage_config map/)
  })

  it.each(['RadosGWStorage', 'RHOCSStorage', 'IBMCloudStorage'])('maps %s with path-style addressing and is_secure', (driver) => {
    const secure = map(driver, { hostname: 'rgw.example', access_key: 'k', secret_key: 's', bucket_name: 'b', storage_path: '/r' })
    expect(secure.params).toEqual({ bucket: 'b', accessKeyId: 'k', secretAccessKey: 's', prefix: '/r', endpoint: 'https://rgw.example', forcePathStyle: true })
    expect(map(driver, { hostname: 'rgw', is_secure: false, port: 80, bucket_name: 'b' }).params.endpoint).toBe('http://rgw:80')
    expect(map(driver, { hostname: 'rgw', is_secure: 'False', bucket_name: 'b' }).params.endpoint).toBe('http://rgw')
    // _build_endpoint_url: a scheme or a port already in the hostname is kept.
    expect(map(driver, { hostname: 'https://rgw:8443', port: 9, bucket_name: 'b' }).params.endpoint).toBe('https://rgw:8443')
    expect(map(driver, { bucket_name: 'b' }).missing).toEqual(['hostname'])
  })

  it('drops tuning knobs silently and lists parameters it does not know', () => {
    const m = map('RadosGWStorage', { hostname: 'h', bucket_name: 'b', maximum_chunk_size_mb: 100, server_side_assembly: false, colour: 'red' })
    expect(m.ignored).toEqual(['colour'])
  })

  it('maps GoogleCloudStorage to gcs without its HMAC keys, and says so', () => {
    const m = map('GoogleCloudStorage', { access_key: 'GOOG', secret_key: 's', bucket_name: 'b', storage_path: '/r' })
    expect(m).toMatchObject({ driver: 'gcs', params: { bucket: 'b', prefix: '/r' }, ignored: [] })
    expect(m.notes).toEqual([expect.stringMatching(/HMAC keys for the S3-compatible XML API and are not used/)])
  })

  it('maps AzureStorage, with a key or a SAS token and a government-cloud endpoint', () => {
    const m = map('AzureStorage', { azure_container: 'c', azure_account_name: 'n', sas_token: 'sv=1', endpoint_url: 'https://n.blob.core.usgovcloudapi.net', storage_path: '/r' })
    expect(m).toMatchObject({ driver: 'azure', params: { container: 'c', accountName: 'n', sasToken: 'sv=1', endpoint: 'https://n.blob.core.usgovcloudapi.net', prefix: '/r' } })
    expect(map('AzureStorage', { azure_container: 'c', azure_account_name: 'n', azure_account_key: 'k' }).params.accountKey).toBe('k')
  })

  it('maps LocalStorage to fs', () => {
    expect(map('LocalStorage', { storage_path: '/datastorage/registry' })).toMatchObject({ driver: 'fs', params: { root: '/datastorage/registry' } })
  })

  it('refuses unknown drivers with a reason', () => {
    expect(mapQuayDriver('FakeStorage', {})).toMatch(/^unknown Quay storage driver "FakeStorage"/)
  })
})

describe('Quay parameter problems', () => {
  it('name nested MultiCDNStorage parameters by their full path', () => {
    expect(problemsOf(() => loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  cdn: [MultiCDNStorage, { storage_config: { s3_region: us-east-1 }, providers: {}, default_provider: x, rules: [] }]
`))).toEqual(['DISTRIBUTED_STORAGE_CONFIG.cdn[1].storage_config.s3_bucket: required'])
  })

  it('report values of the wrong kind at the Quay parameter', () => {
    expect(problemsOf(() => loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  a: [S3Storage, { s3_bucket: 12345, host: 42 }]
`))).toEqual([
      'DISTRIBUTED_STORAGE_CONFIG.a[1].s3_bucket: expected a string, got 12345 (quote it)',
      'DISTRIBUTED_STORAGE_CONFIG.a[1].host: expected a string, got 42 (quote it)',
    ])
  })

  it('warn about ignored parameters, by location', () => {
    const { warnings } = loadYaml(`
DISTRIBUTED_STORAGE_CONFIG:
  a: [LocalStorage, { storage_path: x, colour: red }]
MERIDIAN_LOCATIONS:
  a: { lat: 0, lon: 0 }
`)
    expect(warnings).toContain('DISTRIBUTED_STORAGE_CONFIG.a[1]: ignored Quay parameters: colour')
  })
})
