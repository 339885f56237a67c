// The guard every engine sits behind (ARCHITECTURE §3): keys are validated before a driver sees
// them, driver failures come out as StorageError with a kind callers can act on, and errors raised
// by the caller's own body stream come out unchanged. Also the small kit drivers share so that
// they agree on ranges, page sizes and body discipline. Portable: no `node:` imports.

import { StorageError } from './engine.ts'
import type { ByteRange, StorageEngine, StorageErrorKind } from './engine.ts'

const KEY_CHARS = /^[A-Za-z0-9._/-]+$/
/** S3's limit (1,024 bytes of UTF-8); our keys are ASCII, so characters are bytes. */
const MAX_KEY_LENGTH = 1024

/** Why `key` is not a valid object key, or null when it is. */
function keyProblem(key: string, allowPartial: boolean): string | null {
  if (typeof key !== 'string') return 'not a string'
  if (key.length > MAX_KEY_LENGTH) return `longer than ${MAX_KEY_LENGTH} characters`
  if (key.length === 0) return allowPartial ? null : 'empty'
  if (key.includes('\0')) return 'contains NUL'
  if (key.includes('\\')) return "contains '\\'"
  if (!KEY_CHARS.test(key)) return 'contains characters outside [A-Za-z0-9._/-]'
  if (key.startsWith('/')) return "starts with '/'"
  const segments = key.split('/')
  // A prefix may end inside a segment ('blobs/sha256/ab') or right after a '/': only its complete
  // segments are held to the rules.
  const complete = allowPartial ? segments.slice(0, -1) : segments
  for (const segment of complete) {
    if (segment === '') return 'has an empty segment'
    if (segment === '.' || segment === '..') return `has a '${segment}' segment`
  }
  return null
}

/** Throws StorageError('invalid') unless `key` is a well-formed object key (storage/keys.ts). */
export function assertKey(key: string, location = 'unknown'): void {
  const problem = keyProblem(key, false)
  if (problem) throw new StorageError('invalid', location, `invalid key ${JSON.stringify(key)}: ${problem}`)
}

/** Like assertKey, for a list prefix: may be empty and may end anywhere. */
export function assertPrefix(prefix: string, location = 'unknown'): void {
  const problem = keyProblem(prefix, true)
  if (problem) throw new StorageError('invalid', location, `invalid prefix ${JSON.stringify(prefix)}: ${problem}`)
}

export function isValidKey(key: string): boolean {
  return keyProblem(key, false) === null
}

/** Page size drivers use when the caller gives none; also the largest they serve (as S3). */
export const LIST_LIMIT = 1000

export function listLimit(limit: number | undefined): number {
  if (limit === undefined) return LIST_LIMIT
  return Math.max(1, Math.min(LIST_LIMIT, Math.floor(limit)))
}

/**
 * The range a driver serves for `range` on an object of `size` bytes, with HTTP semantics
 * (RFC 9110 §14.1.2): an end past the last byte is clamped; a start past it is unsatisfiable
 * (StorageError 'invalid', which the edge renders as 416).
 */
export function resolveRange(range: ByteRange | undefined, size: number, location: string, key: string): ByteRange | undefined {
  if (!range) return undefined
  assertRange(range, location)
  if (range.start >= size) {
    throw new StorageError('invalid', location, `range ${range.start}-${range.end} starts past the end of ${key} (${size} bytes)`)
  }
  return { start: range.start, end: Math.min(range.end, size - 1) }
}

/** Throws StorageError('invalid') unless `range` is a well-formed inclusive byte range. */
export function assertRange(range: ByteRange, location = 'unknown'): void {
  const { start, end } = range
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new StorageError('invalid', location, `invalid byte range ${start}-${end}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Error normalisation

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

// ---------------------------------------------------------------------------------------------
// Body discipline

export interface BodyReaderOptions {
  location: string
  key: string
  /** The declared size: more or fewer bytes fail with StorageError('invalid'). */
  size?: number
  signal?: AbortSignal
  /** Literal secrets to scrub from the messages of driver errors (see toStorageError). */
  secrets?: readonly string[]
}

/**
 * Reads a put body for a driver. It enforces the declared size and the abort signal, and it knows
 * whether a failure came from the body itself: `failure(err)` returns the body's own error when it
 * did (the engine contract: rethrown as it is, so a verifying transform's OciError reaches the
 * handler as DIGEST_INVALID) and a StorageError otherwise.
 */
export class BodyReader {
  /** Bytes read so far. */
  bytes = 0
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private readonly options: BodyReaderOptions
  private bodyError: { reason: unknown } | null = null
  private done = false
  private readonly onAbort: () => void

  constructor(body: ReadableStream<Uint8Array>, options: BodyReaderOptions) {
    this.reader = body.getReader()
    this.options = options
    // Cancelling makes a pending read() return, so an abort does not wait for a stalled client.
    this.onAbort = () => void this.reader.cancel(options.signal?.reason).catch(() => {})
    options.signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /** The next chunk, or null at the end of the body. */
  async next(): Promise<Uint8Array | null> {
    const { location, key, size } = this.options
    this.throwIfAborted()
    let result: ReadableStreamReadResult<Uint8Array>
    try {
      result = await this.reader.read()
    } catch (reason) {
      this.bodyError = { reason }
      this.finish()
      throw reason
    }
    this.throwIfAborted()
    if (result.done) {
      this.finish()
      if (size !== undefined && this.bytes !== size) {
        throw new StorageError('invalid', location, `body of ${key} has ${this.bytes} bytes, ${size} declared`)
      }
      return null
    }
    this.bytes += result.value.byteLength
    if (size !== undefined && this.bytes > size) {
      throw new StorageError('invalid', location, `body of ${key} is longer than the ${size} bytes declared`)
    }
    return result.value
  }

  /** The error to throw for `err`, after cancelling the body if it is still open. */
  failure(err: unknown): unknown {
    if (this.bodyError) return this.bodyError.reason
    if (!this.done) {
      this.finish()
      this.reader.cancel(err).catch(() => {})
    }
    return toStorageError(err, this.options.location, `put ${this.options.key}`, this.options.secrets)
  }

  private throwIfAborted(): void {
    if (this.options.signal?.aborted) {
      throw new StorageError('aborted', this.options.location, `put ${this.options.key} aborted`, { cause: this.options.signal.reason })
    }
  }

  private finish(): void {
    this.done = true
    this.options.signal?.removeEventListener('abort', this.onAbort)
  }
}

// ---------------------------------------------------------------------------------------------
// The wrapper

export interface OperationEvent {
  location: string
  driver: string
  operation: 'stat' | 'get' | 'put' | 'delete' | 'list' | 'presign' | 'copy'
  /** Milliseconds until the call settled (for get: until the stream was handed over). */
  ms: number
  /** 'ok', 'missing' (a null answer), 'caller' (the caller's body failed), or the error kind. */
  outcome: 'ok' | 'missing' | 'caller' | StorageErrorKind
}

export interface GuardOptions {
  /** Called after every operation; feeds metrics and health (one place, every driver). */
  observe?: (event: OperationEvent) => void
  /** Literal secrets (keys, passwords) to scrub from error messages besides the known patterns. */
  secrets?: readonly string[]
}

/**
 * Wraps an engine so that no bad key reaches the driver and no raw error leaves it. Errors thrown
 * mid-stream by a get body are not rewrapped: that would cost a stream layer on the pull path.
 */
export function guardEngine(engine: StorageEngine, { observe, secrets = [] }: GuardOptions = {}): StorageEngine {
  const { location, driver } = engine

  async function run<T>(operation: OperationEvent['operation'], doing: string, call: () => Promise<T>, callerFailure: () => { reason: unknown } | null = () => null): Promise<T> {
    const started = performance.now()
    const report = (outcome: OperationEvent['outcome']) => observe?.({ location, driver, operation, ms: performance.now() - started, outcome })
    try {
      const result = await call()
      report(result === null ? 'missing' : 'ok')
      return result
    } catch (err) {
      // Whatever the driver made of it, a failed body is the caller's error, reported as is.
      const fromCaller = callerFailure()
      if (fromCaller) {
        report('caller')
        throw fromCaller.reason
      }
      const failure = toStorageError(err, location, doing, secrets)
      report(failure.kind)
      throw failure
    }
  }

  const guarded: StorageEngine = {
    location,
    driver,
    stat: (key) => run('stat', `stat ${key}`, async () => {
      assertKey(key, location)
      return engine.stat(key)
    }),
    get: (key, options = {}) => run('get', `get ${key}`, async () => {
      assertKey(key, location)
      if (options.range) assertRange(options.range, location)
      return engine.get(key, options)
    }),
    put: (key, body, options) => {
      const tracked = trackBodyErrors(body)
      return run('put', `put ${key}`, async () => {
        assertKey(key, location)
        return engine.put(key, tracked.stream, options)
      }, () => tracked.failure).catch(async (err) => {
        // A driver that failed before reading the whole body leaves its source open (a file
        // handle, a socket): cancel it so every stream upstream is released now, not at GC.
        await tracked.abandon(err)
        throw err
      })
    },
    delete: (key) => run('delete', `delete ${key}`, async () => {
      assertKey(key, location)
      return engine.delete(key)
    }),
    list: (prefix, options) => run('list', `list ${prefix}`, async () => {
      assertPrefix(prefix, location)
      return engine.list(prefix, options)
    }),
  }
  if (engine.presign) {
    const presign = engine.presign.bind(engine)
    guarded.presign = (key, options = {}) => run('presign', `presign ${key}`, async () => {
      assertKey(key, location)
      if (options.range) assertRange(options.range, location)
      return presign(key, options)
    })
  }
  if (engine.copy) {
    const copy = engine.copy.bind(engine)
    guarded.copy = (fromKey, toKey) => run('copy', `copy ${fromKey} to ${toKey}`, async () => {
      assertKey(fromKey, location)
      assertKey(toKey, location)
      return copy(fromKey, toKey)
    })
  }
  if (engine.copySource) {
    const copySource = engine.copySource.bind(engine)
    guarded.copySource = (key) => run('copy', `describe ${key} for copying`, async () => {
      assertKey(key, location)
      return copySource(key)
    })
  }
  if (engine.copyFrom) {
    const copyFrom = engine.copyFrom.bind(engine)
    guarded.copyFrom = (source, key, size) => run('copy', `copy ${key} from another location`, async () => {
      assertKey(key, location)
      return copyFrom(source, key, size)
    })
  }
  if (engine.close) guarded.close = engine.close.bind(engine)
  return guarded
}

/** Passes `body` through, remembering whether reading it failed (and with what). */
function trackBodyErrors(body: ReadableStream<Uint8Array>): { stream: ReadableStream<Uint8Array>; failure: { reason: unknown } | null; abandon(reason: unknown): Promise<void> } {
  let failure: { reason: unknown } | null = null
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= body.getReader()
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (reason) {
        failure = { reason }
        throw reason
      }
      if (result.done) controller.close()
      else controller.enqueue(result.value)
    },
    cancel: (reason) => (reader ?? body.getReader()).cancel(reason),
  }, { highWaterMark: 0 })
  return {
    stream,
    get failure() {
      return failure
    },
    async abandon(reason) {
      if (failure) return
      await (reader ?? (body.locked ? null : body.getReader()))?.cancel(reason).catch(() => {})
    },
  }
}
