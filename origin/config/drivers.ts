// Driver parameters: which each driver accepts, which it requires, and their defaults. The
// output is normalised (defaults filled in, paths absolute, prefixes without slashes) so drivers
// read it without re-validating. Absent optional parameters are left out, not set to undefined.

import { resolve } from 'node:path'
import type { DriverName } from './types.ts'
import { problem, type Report } from './report.ts'
import { checkHttpUrl, checkKeys, readBoolean, readString, type YamlMap } from './read-values.ts'
import { SWIFT_PARAMS, validateSwiftParams } from './swift-params.ts'

export const DRIVER_PARAMS: Record<DriverName, readonly string[]> = {
  fs: ['root', 'publicUrl'],
  s3: ['bucket', 'region', 'endpoint', 'forcePathStyle', 'accessKeyId', 'secretAccessKey', 'prefix'],
  azure: ['container', 'connectionString', 'accountName', 'accountKey', 'sasToken', 'endpoint', 'prefix'],
  gcs: ['bucket', 'projectId', 'keyFilename', 'apiEndpoint', 'prefix'],
  swift: SWIFT_PARAMS,
  memory: [],
}

/** These can presign, so they can `serve: redirect`; fs too when it names a `publicUrl`. */
export const PRESIGNING_DRIVERS: readonly DriverName[] = ['s3', 'azure', 'gcs']

/**
 * Whether a location's URLs can be presigned: a cloud driver, a disk with a public URL, or Swift
 * with a temp URL key.
 */
export function canPresign(driver: DriverName, params: Record<string, unknown>): boolean {
  return PRESIGNING_DRIVERS.includes(driver) || (driver === 'fs' && typeof params.publicUrl === 'string')
    || (driver === 'swift' && typeof params.tempUrlKey === 'string')
}

export interface ParamContext {
  locationId: string
  dataDir: string
  /** Where a parameter is written in the file; Quay files name parameters differently. */
  pathOf: (param: string) => string
  /** The path of the whole parameter block, for problems that concern several parameters. */
  blockPath: string
  /** How a parameter is called in the file, in messages about several parameters. */
  nameOf?: (param: string) => string
}

export function validateDriverParams(report: Report, driver: DriverName, raw: YamlMap, ctx: ParamContext): Record<string, unknown> {
  checkKeys(report, raw, DRIVER_PARAMS[driver], ctx.blockPath)
  const str = (name: string, required = false) => readString(report, raw[name], ctx.pathOf(name), { required })
  const url = (name: string) => readUrl(report, str(name), ctx.pathOf(name))
  const n = ctx.nameOf ?? ((param: string) => param)
  const out: Record<string, unknown> = {}
  const set = (name: string, value: unknown) => {
    if (value !== undefined) out[name] = value
  }
  switch (driver) {
    case 'fs': {
      // Relative roots live under the data directory, like the database file does.
      set('root', resolve(ctx.dataDir, str('root') ?? `locations/${ctx.locationId}`))
      // The base URL of the Meridian process that owns this disk, as clients reach it: with it,
      // edges redirect pulls there with signed URLs (storage/signed-url.ts).
      set('publicUrl', checkHttpUrl(report, str('publicUrl'), ctx.pathOf('publicUrl'), { bare: true }))
      break
    }
    case 's3': {
      set('bucket', str('bucket', true))
      set('region', str('region') ?? 'us-east-1')
      set('endpoint', url('endpoint'))
      set('forcePathStyle', readBoolean(report, raw.forcePathStyle, ctx.pathOf('forcePathStyle')) ?? false)
      const accessKeyId = str('accessKeyId')
      const secretAccessKey = str('secretAccessKey')
      // Without both the SDK falls back to its own chain (env, profile, instance role): fine.
      // With only one, the intent was static keys and one is missing.
      if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
        problem(report, ctx.blockPath, `${n('accessKeyId')} and ${n('secretAccessKey')} go together: set both or neither`)
      }
      set('accessKeyId', accessKeyId)
      set('secretAccessKey', secretAccessKey)
      set('prefix', readPrefix(str('prefix')))
      break
    }
    case 'azure': {
      set('container', str('container', true))
      const connectionString = str('connectionString')
      const accountName = str('accountName')
      const accountKey = str('accountKey')
      const sasToken = str('sasToken')
      const endpoint = url('endpoint')
      if (connectionString !== undefined) {
        if (accountName !== undefined || accountKey !== undefined || sasToken !== undefined || endpoint !== undefined) {
          problem(report, ctx.blockPath, `connectionString already names the account: drop ${['accountName', 'accountKey', 'sasToken', 'endpoint'].map(n).join(', ')}`)
        }
      } else if (accountName === undefined) {
        problem(report, ctx.blockPath, `azure needs connectionString, or ${n('accountName')} with ${n('accountKey')} or ${n('sasToken')}`)
      } else if ((accountKey === undefined) === (sasToken === undefined)) {
        problem(report, ctx.blockPath, `${n('accountName')} needs exactly one of ${n('accountKey')} or ${n('sasToken')}`)
      }
      set('connectionString', connectionString)
      set('accountName', accountName)
      set('accountKey', accountKey)
      set('sasToken', sasToken?.replace(/^\?/, ''))
      set('endpoint', endpoint)
      set('prefix', readPrefix(str('prefix')))
      break
    }
    case 'gcs': {
      set('bucket', str('bucket', true))
      set('projectId', str('projectId'))
      set('keyFilename', str('keyFilename'))
      set('apiEndpoint', url('apiEndpoint'))
      set('prefix', readPrefix(str('prefix')))
      break
    }
    case 'swift':
      Object.assign(out, validateSwiftParams(report, raw, { ...ctx, nameOf: n }, (value) => readPrefix(value)))
      break
    case 'memory':
      break
  }
  return out
}

/** Object key prefixes carry no leading or trailing slash: drivers join them with '/'. */
function readPrefix(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const trimmed = value.replace(/^\/+|\/+$/g, '')
  return trimmed === '' ? undefined : trimmed
}

const readUrl = (report: Report, value: string | undefined, path: string) => checkHttpUrl(report, value, path)
