// Driver failures as StorageError (ARCHITECTURE §3): what kind of failure an SDK, Node or fetch
// error is, and a message and cause scrubbed of credentials, since causes get logged. Used by the
// guard around every engine and by drivers that wrap their own errors. Portable.

import { StorageError } from './engine.ts'
import type { StorageErrorKind } from './engine.ts'

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE',
  'EIO', 'EBUSY', 'EAGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
])
const DENIED_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken'])
const CONFLICT_CODES = new Set(['EEXIST', 'ENOTEMPTY', 'EISDIR', 'ENOTDIR', 'PreconditionFailed', 'OperationAborted'])
const INVALID_CODES = new Set(['ENAMETOOLONG', 'EINVAL', 'InvalidRange', 'InvalidArgument', 'EntityTooLarge', 'EntityTooSmall', 'InvalidPart', 'KeyTooLongError'])
// A missing bucket or container is the location's misconfiguration, not the caller's: mark the
// location unhealthy and retry later, when an operator may have fixed it.
const LOCATION_CODES = new Set(['NoSuchBucket', 'ContainerNotFound', 'SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'TimeoutError'])

interface ErrorShape {
  name?: unknown
  code?: unknown
  Code?: unknown
  message?: unknown
  status?: unknown
  statusCode?: unknown
  cause?: unknown
  $metadata?: { httpStatusCode?: number }
}

function codeOf(e: ErrorShape): string | undefined {
  for (const v of [e.code, e.Code, e.name]) if (typeof v === 'string' && v !== 'Error') return v
  return undefined
}

function statusOf(e: ErrorShape): number | undefined {
  for (const v of [e.$metadata?.httpStatusCode, e.statusCode, e.status]) if (typeof v === 'number') return v
  return undefined
}

function kindOfStatus(status: number): StorageErrorKind {
  if (status === 401 || status === 403) return 'denied'
  if (status === 409 || status === 412) return 'conflict'
  if (status === 408 || status === 429 || status >= 500) return 'unavailable'
  if (status >= 400 && status !== 404) return 'invalid'
  return 'unknown'
}

/** What kind of failure `err` is, from its code, name and HTTP status (SDK, Node, fetch errors). */
export function classifyError(err: unknown): StorageErrorKind {
  if (err instanceof StorageError) return err.kind
  if (typeof err !== 'object' || err === null) return 'unknown'
  const e = err as ErrorShape
  if (e.name === 'AbortError' || e.code === 'ABORT_ERR') return 'aborted'
  const code = codeOf(e)
  if (code !== undefined) {
    if (UNAVAILABLE_CODES.has(code) || LOCATION_CODES.has(code)) return 'unavailable'
    if (DENIED_CODES.has(code)) return 'denied'
    if (CONFLICT_CODES.has(code)) return 'conflict'
    if (INVALID_CODES.has(code)) return 'invalid'
  }
  const status = statusOf(e)
  if (status !== undefined) return kindOfStatus(status)
  // fetch() (undici) reports network failures as TypeError('fetch failed') with the cause inside.
  if (e.cause !== undefined && e.cause !== err) {
    const inner = classifyError(e.cause)
    if (inner !== 'unknown') return inner
  }
  return 'unknown'
}

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  // Query-string credentials: presigned S3 URLs, Azure SAS tokens, OAuth tokens.
  [/\b(x-amz-(?:signature|credential|security-token)|signature|awsaccesskeyid|sig|accountkey|sharedaccesskey|access_token|token|password|secret|credential)=[^&;,\s"'<>]+/gi, '$1=<redacted>'],
  // URL user-info (`https://user:pass@host`).
  [/\/\/[^/\s:@]+:[^/\s@]+@/g, '//<redacted>@'],
  // AWS access key ids.
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, '<redacted>'],
  // Authorization header values.
  [/(authorization["']?\s*[:=]\s*["']?)(?:[A-Za-z0-9-]+\s+)?[^\s,"']+/gi, '$1<redacted>'],
]

/** Removes credentials from text destined for a message or log: known patterns and given secrets. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('<redacted>')
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement)
  return out
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const e = err as ErrorShape
  const code = codeOf(e)
  const status = statusOf(e)
  const label = [code ?? err.name, status !== undefined ? `HTTP ${status}` : ''].filter(Boolean).join(', ')
  return `${err.message || '(no message)'} [${label}]`
}

/**
 * `err` as a StorageError for `location`. StorageErrors pass through untouched. Others become one
 * whose message says what was being done, and whose cause is a scrubbed copy of the original: the
 * raw SDK error may carry a presigned URL or an Authorization header, and causes get logged.
 */
export function toStorageError(err: unknown, location: string, doing: string, secrets: readonly string[] = []): StorageError {
  if (err instanceof StorageError) return err
  const kind = classifyError(err)
  const message = redact(`${location}: ${doing}: ${describe(err)}`, secrets)
  const cause = new Error(redact(err instanceof Error ? err.message : String(err), secrets))
  cause.name = err instanceof Error ? err.name : 'Error'
  if (err instanceof Error && err.stack) cause.stack = redact(err.stack, secrets)
  return new StorageError(kind, location, message, { cause })
}
