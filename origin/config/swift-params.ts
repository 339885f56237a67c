// The swift driver's parameters (docs/swift.md): which it takes, which go together, and the
// normalised form storage/drivers/cloud-engines.ts turns into SwiftEngineOptions. Called from
// drivers.ts like the other drivers' cases.

import { problem, type Report } from './report.ts'
import { checkHttpUrl, readNumber, readString, type YamlMap } from './read-values.ts'

export const SWIFT_PARAMS: readonly string[] = [
  'container', 'authUrl', 'authVersion', 'user', 'userId', 'password',
  'userDomainName', 'userDomainId', 'projectName', 'projectId', 'projectDomainName', 'projectDomainId',
  'applicationCredentialId', 'applicationCredentialName', 'applicationCredentialSecret',
  'region', 'interface', 'storageUrl', 'tempUrlKey', 'prefix', 'segmentContainer', 'segmentSize',
]

/** Parameters that are secrets: never in an edge config, a log or a message. */
export const SWIFT_SECRET_PARAMS: readonly string[] = ['password', 'applicationCredentialSecret', 'tempUrlKey']

interface SwiftParamContext {
  pathOf: (param: string) => string
  blockPath: string
  nameOf: (param: string) => string
}

const MiB = 1024 * 1024
/** Swift's default max_file_size is 5 GiB + 2 bytes: a segment may not be larger. */
const MAX_SEGMENT = 5 * 1024 * MiB

export function validateSwiftParams(report: Report, raw: YamlMap, ctx: SwiftParamContext, readPrefix: (value: string | undefined) => string | undefined): Record<string, unknown> {
  const str = (name: string, required = false) => readString(report, raw[name], ctx.pathOf(name), { required })
  const n = ctx.nameOf
  const out: Record<string, unknown> = {}
  const set = (name: string, value: unknown) => {
    if (value !== undefined) out[name] = value
  }
  set('container', str('container', true))
  set('authUrl', checkHttpUrl(report, str('authUrl', true), ctx.pathOf('authUrl')))
  const version = readNumber(report, raw.authVersion, ctx.pathOf('authVersion'), { integer: true }) ?? 3
  if (version !== 1 && version !== 3) {
    problem(report, ctx.pathOf('authVersion'), `must be 1 (v1 auth, tempauth) or 3 (Keystone v3), got ${version}`)
  }
  set('authVersion', version)
  for (const name of SWIFT_PARAMS.filter((p) => p !== 'authVersion' && p !== 'segmentSize')) {
    if (!(name in out)) set(name, str(name))
  }
  const has = (name: string) => out[name] !== undefined
  if (version === 1) {
    if (!has('user') || !has('password')) problem(report, ctx.blockPath, `the v1 auth needs ${n('user')} (account:user) and ${n('password')} (the key)`)
    const v3Only = SWIFT_PARAMS.filter((p) => /^(userId|userDomain|project|applicationCredential|region$|interface$)/.test(p) && has(p))
    if (v3Only.length > 0) problem(report, ctx.blockPath, `${v3Only.map(n).join(', ')}: Keystone v3 only (${n('authVersion')}: 3)`)
  } else if (version === 3) {
    if (has('password') === has('applicationCredentialSecret')) {
      problem(report, ctx.blockPath, `Keystone v3 needs exactly one of ${n('password')} or ${n('applicationCredentialSecret')}`)
    } else if (has('password') && !has('user') && !has('userId')) {
      problem(report, ctx.blockPath, `${n('password')} needs ${n('user')} or ${n('userId')}`)
    } else if (has('applicationCredentialSecret') && !has('applicationCredentialId') && !(has('applicationCredentialName') && (has('user') || has('userId')))) {
      problem(report, ctx.blockPath, `${n('applicationCredentialSecret')} needs ${n('applicationCredentialId')}, or ${n('applicationCredentialName')} with ${n('user')} or ${n('userId')}`)
    }
  }
  if (has('interface') && !['public', 'internal', 'admin'].includes(out.interface as string)) {
    problem(report, ctx.pathOf('interface'), `must be public, internal or admin, got "${String(out.interface)}"`)
  }
  const storageUrl = checkHttpUrl(report, out.storageUrl as string | undefined, ctx.pathOf('storageUrl'))
  const prefix = readPrefix(out.prefix as string | undefined)
  delete out.storageUrl
  delete out.prefix
  set('storageUrl', storageUrl)
  set('prefix', prefix)
  set('segmentSize', readNumber(report, raw.segmentSize, ctx.pathOf('segmentSize'), { integer: true, min: MiB, max: MAX_SEGMENT }))
  return out
}
