// The guard every engine sits behind (ARCHITECTURE §3): keys are validated before a driver sees
// them, driver failures come out as StorageError with a kind callers can act on (storage/errors.ts),
// and errors raised by the caller's own body stream come out unchanged. Also the small kit drivers
// share so that they agree on keys, ranges and pages (bodies: storage/body-reader.ts). Portable:
// no `node:` imports.

import { StorageError } from './engine.ts'
import type { ByteRange, ListPage, ObjectInfo, StorageEngine, StorageErrorKind } from './engine.ts'
import { toStorageError } from './errors.ts'
import { relayBody } from './relay-body.ts'

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
 * The page of a driver that fetched up to `limit + 1` objects after the cursor: one more than
 * asked says whether a page follows. The cursor is the page's last key in every engine
 * (storage/engine.ts), so a driver resumes after it, whatever its backend's own paging.
 */
export function pageOf(found: readonly ObjectInfo[], limit: number): ListPage {
  const keys = found.slice(0, limit)
  return { keys, cursor: found.length > limit ? keys[keys.length - 1]!.key : null }
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
    guarded.copyFrom = (source, key, size, check) => {
      // A refusal by the caller's own check is its error, reported as is (like a failed put body).
      let refused: { reason: unknown } | null = null
      const tracked = check && (async (body: ReadableStream<Uint8Array>) => {
        try {
          await check(body)
        } catch (reason) {
          refused = { reason }
          throw reason
        }
      })
      return run('copy', `copy ${key} from another location`, async () => {
        assertKey(key, location)
        return copyFrom(source, key, size, tracked)
      }, () => refused)
    }
  }
  if (engine.sweepTemporary) {
    const sweep = engine.sweepTemporary.bind(engine)
    // Counted as deletes: that is what a sweep does, and it keeps the metric labels unchanged.
    guarded.sweepTemporary = (olderThan, options) => run('delete', 'sweep temporary files', () => sweep(olderThan, options))
  }
  if (engine.close) guarded.close = engine.close.bind(engine)
  return guarded
}

/** Passes `body` through, remembering whether reading it failed (and with what). */
function trackBodyErrors(body: ReadableStream<Uint8Array>): { stream: ReadableStream<Uint8Array>; failure: { reason: unknown } | null; abandon(reason: unknown): Promise<void> } {
  let failure: { reason: unknown } | null = null
  const relayed = relayBody(body, (reason) => {
    failure = { reason }
    return reason
  })
  return {
    stream: relayed.stream,
    get failure() {
      return failure
    },
    async abandon(reason) {
      if (!failure) await relayed.cancelSource(reason)
    },
  }
}
