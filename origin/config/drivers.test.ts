import { describe, expect, it } from 'vitest'
import { validateDriverParams } from './drivers.ts'
import type { DriverName } from './types.ts'
import { createReport } from './report.ts'

function params(driver: DriverName, raw: Record<string, unknown>, id = 'loc') {
  const report = createReport()
  const out = validateDriverParams(report, driver, raw, { locationId: id, dataDir: '/data', pathOf: (p) => `p.${p}`, blockPath: 'p' })
  return { out, problems: report.problems }
}

describe('validateDriverParams', () => {
  it('fs: root defaults to <dataDir>/locations/<id>; relative roots live under the data directory', () => {
    expect(params('fs', {}, 'eu').out).toEqual({ root: '/data/locations/eu' })
    expect(params('fs', { root: 'blobs/eu' }).out).toEqual({ root: '/data/blobs/eu' })
    expect(params('fs', { root: '/mnt/x' }).out).toEqual({ root: '/mnt/x' })
  })

  it('s3: region defaults to us-east-1, path style off, prefix without slashes, endpoint without trailing slash', () => {
    expect(params('s3', { bucket: 'b', prefix: '//a/b/', endpoint: 'http://minio:9000/' })).toEqual({
      out: { bucket: 'b', region: 'us-east-1', forcePathStyle: false, prefix: 'a/b', endpoint: 'http://minio:9000' },
      problems: [],
    })
    expect(params('s3', { bucket: 'b', prefix: '/' }).out).not.toHaveProperty('prefix')
  })

  it('s3: static keys come in pairs', () => {
    expect(params('s3', { bucket: 'b', secretAccessKey: 's' }).problems).toEqual(['p: accessKeyId and secretAccessKey go together: set both or neither'])
    expect(params('s3', { bucket: 'b', accessKeyId: 'k', secretAccessKey: 's', forcePathStyle: 'true' }).out).toMatchObject({ accessKeyId: 'k', forcePathStyle: true })
  })

  it('azure: a connection string, or an account with a key or a SAS token (leading ? dropped)', () => {
    expect(params('azure', { container: 'c', connectionString: 'cs' })).toEqual({ out: { container: 'c', connectionString: 'cs' }, problems: [] })
    expect(params('azure', { container: 'c', accountName: 'a', sasToken: '?sv=1&sig=x', endpoint: 'https://a.blob.core.windows.net' }).out)
      .toEqual({ container: 'c', accountName: 'a', sasToken: 'sv=1&sig=x', endpoint: 'https://a.blob.core.windows.net' })
    expect(params('azure', { container: 'c', accountName: 'a', accountKey: 'k', sasToken: 's' }).problems).toEqual(['p: accountName needs exactly one of accountKey or sasToken'])
  })

  it('gcs: bucket required, the rest optional', () => {
    expect(params('gcs', { bucket: 'b', projectId: 'p', apiEndpoint: 'http://localhost:4443' })).toEqual({
      out: { bucket: 'b', projectId: 'p', apiEndpoint: 'http://localhost:4443' },
      problems: [],
    })
    expect(params('gcs', {}).problems).toEqual(['p.bucket: required'])
  })

  it('memory: takes no parameters', () => {
    expect(params('memory', {})).toEqual({ out: {}, problems: [] })
    expect(params('memory', { root: '/x' }).problems).toEqual(['p.root: unknown key (expected one of: )'])
  })
})
