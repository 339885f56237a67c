// Quay storage engines ("DISTRIBUTED_STORAGE_CONFIG: { id: [QuayDriver, {params}] }") mapped to
// Meridian drivers. Parameter names follow Quay's storage/*.py constructors and the Quay docs.
// This file only renames; the result goes through drivers.ts like any Meridian parameters.

import type { DriverName } from './types.ts'
import { isAbsent, isMap, type YamlMap } from './read-values.ts'
import { mapQuaySwift } from './quay-swift.ts'

export interface QuayMapping {
  driver: DriverName
  /** Meridian parameters, not yet validated. */
  params: YamlMap
  /** The Quay name of a Meridian parameter (the one the file used, else the usual one). */
  quayName: (param: string) => string
  /** Quay parameters with no Meridian counterpart. */
  ignored: string[]
  /** Parameters Meridian needs and the file lacks, by Quay name. */
  missing: string[]
  /** What the operator should know (features dropped, credentials not carried). */
  notes: string[]
}

/** Quay tuning knobs that mean nothing to Meridian, dropped without a word. */
const TUNING = ['maximum_chunk_size_gb', 'maximum_chunk_size_mb', 'server_side_assembly', 'boto_timeout', 'signature_version']

// Quay parameter → Meridian parameter. Order matters: the first Quay name for a Meridian
// parameter is the one problems mention when the file used none.
const AWS_NAMES: [string, string][] = [
  ['s3_bucket', 'bucket'], ['s3_access_key', 'accessKeyId'], ['s3_secret_key', 'secretAccessKey'],
  ['s3_region', 'region'], ['endpoint_url', 'endpoint'], ['storage_path', 'prefix'],
  ['bucket_name', 'bucket'], ['access_key', 'accessKeyId'], ['secret_key', 'secretAccessKey'],
]
const STS_NAMES: [string, string][] = [['sts_user_access_key', 'accessKeyId'], ['sts_user_secret_key', 'secretAccessKey'], ...AWS_NAMES]
const RADOS_NAMES: [string, string][] = [
  ['bucket_name', 'bucket'], ['access_key', 'accessKeyId'], ['secret_key', 'secretAccessKey'], ['storage_path', 'prefix'],
  ['s3_bucket', 'bucket'], ['s3_access_key', 'accessKeyId'], ['s3_secret_key', 'secretAccessKey'], ['s3_region', 'region'],
]
const AZURE_NAMES: [string, string][] = [
  ['azure_container', 'container'], ['azure_account_name', 'accountName'], ['azure_account_key', 'accountKey'],
  ['sas_token', 'sasToken'], ['endpoint_url', 'endpoint'], ['storage_path', 'prefix'],
]
const GCS_NAMES: [string, string][] = [['bucket_name', 'bucket'], ['storage_path', 'prefix']]
const FS_NAMES: [string, string][] = [['storage_path', 'root']]

/** AWS S3 and the CDN-fronted variants of it. */
const AWS_S3 = ['S3Storage', 'STSS3Storage', 'CloudFrontedS3Storage', 'CloudFlareStorage', 'AkamaiS3Storage']
/** Ceph RGW and its kin (ODF/RHOCS, IBM COS); Quay's docs also configure most other
 * S3-compatibles (Nutanix, NetApp ONTAP S3, Hitachi HCP) as RadosGWStorage. Path-style
 * addressing: on-premises endpoints rarely have the wildcard DNS virtual-hosted buckets need. */
const RADOS_S3 = ['RadosGWStorage', 'RHOCSStorage', 'IBMCloudStorage']

export const MAPPED_QUAY_DRIVERS = [...AWS_S3, ...RADOS_S3, 'MultiCDNStorage', 'GoogleCloudStorage', 'AzureStorage', 'SwiftStorage', 'LocalStorage']

/** The mapping, or why the engine cannot be carried over. */
export function mapQuayDriver(quayDriver: string, quayParams: YamlMap): QuayMapping | string {
  if (quayDriver === 'MultiCDNStorage') {
    // The CDN rules go; the bucket underneath (storage_config) is an ordinary S3 location.
    if (!isMap(quayParams.storage_config)) return 'MultiCDNStorage needs a storage_config map (the S3 bucket behind the CDNs)'
    const inner = mapS3(quayParams.storage_config, AWS_NAMES, 'host', 'storage_config.')
    inner.notes.push('MultiCDNStorage: CDN providers and rules are not carried over; pulls redirect to presigned URLs of the storage_config bucket')
    return inner
  }
  if (AWS_S3.includes(quayDriver)) {
    const mapping = mapS3(quayParams, quayDriver === 'STSS3Storage' ? STS_NAMES : AWS_NAMES, 'host', '')
    if (quayDriver === 'STSS3Storage') {
      mapping.ignored = mapping.ignored.filter((k) => k !== 'sts_role_arn')
      mapping.notes.push('STSS3Storage: sts_role_arn is not assumed; the sts_user keys are used directly, so grant that user the bucket (or drop the keys and let the AWS SDK find role credentials)')
    } else if (quayDriver !== 'S3Storage') {
      mapping.ignored = mapping.ignored.filter((k) => !/^(cloudfront|cloudflare|akamai)_/.test(k))
      mapping.notes.push(`${quayDriver}: the CDN in front of the bucket is not carried over; pulls redirect to presigned S3 URLs`)
    }
    return mapping
  }
  if (RADOS_S3.includes(quayDriver)) {
    const mapping = mapS3(quayParams, RADOS_NAMES, 'hostname', '')
    mapping.params.forcePathStyle = true
    if (mapping.params.endpoint === undefined) mapping.missing.push('hostname')
    return mapping
  }
  if (quayDriver === 'GoogleCloudStorage') {
    const mapping = rename('gcs', quayParams, GCS_NAMES, '')
    // Quay reaches GCS through its S3-compatible XML API with HMAC keys; the gcs driver uses the
    // JSON API, which does not take them. Secrets that cannot work are not carried.
    mapping.ignored = mapping.ignored.filter((k) => k !== 'access_key' && k !== 'secret_key')
    mapping.notes.push('GoogleCloudStorage: access_key/secret_key are HMAC keys for the S3-compatible XML API and are not used; give the gcs driver a service account (MERIDIAN_LOCATIONS.<id>.params.keyFilename, or GOOGLE_APPLICATION_CREDENTIALS)')
    return mapping
  }
  if (quayDriver === 'AzureStorage') return rename('azure', quayParams, AZURE_NAMES, '')
  if (quayDriver === 'LocalStorage') return rename('fs', quayParams, FS_NAMES, '')
  if (quayDriver === 'SwiftStorage') return mapQuaySwift(quayParams)
  return `unknown Quay storage driver "${quayDriver}" (Meridian maps ${MAPPED_QUAY_DRIVERS.join(', ')})`
}

function rename(driver: DriverName, quayParams: YamlMap, names: [string, string][], prefix: string): QuayMapping {
  const used = new Map<string, string>()
  const params: YamlMap = {}
  const ignored: string[] = []
  const table = new Map(names)
  for (const [key, value] of Object.entries(quayParams)) {
    const target = table.get(key)
    if (target === undefined) {
      if (!TUNING.includes(key)) ignored.push(prefix + key)
      continue
    }
    // Quay passes `s3_access_key or None`: empty and null both mean "not set".
    if (isAbsent(value) || value === '') continue
    if (used.has(target)) {
      ignored.push(prefix + key)
      continue
    }
    params[target] = value
    used.set(target, prefix + key)
  }
  const quayName = (param: string) => used.get(param) ?? prefix + (names.find(([, t]) => t === param)?.[0] ?? param)
  return { driver, params, quayName, ignored, missing: [], notes: [] }
}

/** Quay's S3 drivers; the endpoint rule is storage/cloud.py `_build_endpoint_url`. */
function mapS3(quayParams: YamlMap, names: [string, string][], hostKey: 'host' | 'hostname', prefix: string): QuayMapping {
  const mapping = rename('s3', quayParams, names, prefix)
  const hostParams = [hostKey, 'port', 'is_secure'].map((k) => prefix + k)
  mapping.ignored = mapping.ignored.filter((k) => !hostParams.includes(k))
  const host = quayParams[hostKey]
  const baseName = mapping.quayName
  mapping.quayName = (param) => (param === 'endpoint' && mapping.params.endpoint !== undefined && quayParams.endpoint_url === undefined ? prefix + hostKey : baseName(param))
  if (mapping.params.endpoint !== undefined || isAbsent(host) || host === '') return mapping
  if (typeof host !== 'string') {
    mapping.params.endpoint = host // not a string: validation reports it, at the host parameter
    return mapping
  }
  // S3Storage always builds https; RadosGW honours is_secure, which defaults to true.
  const secure = hostKey === 'host' || !(quayParams.is_secure === false || String(quayParams.is_secure).toLowerCase() === 'false')
  let endpoint = /^https?:\/\//.test(host) ? host : `${secure ? 'https' : 'http'}://${host}`
  const port = quayParams.port
  if (!isAbsent(port) && port !== '' && !/:\d+\/?$/.test(endpoint)) endpoint = `${endpoint.replace(/\/$/, '')}:${String(port)}`
  mapping.params.endpoint = endpoint
  return mapping
}
