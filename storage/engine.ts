// The storage engine contract (ARCHITECTURE §6). Every driver implements it, every driver passes
// storage/conformance.ts. Keys are validated by storage/guard.ts before they reach a driver.

import type { ByteRange } from '../oci/range.ts'

// ByteRange lives in oci/ (the bottom layer: HTTP ranges are protocol); storage re-exports it so
// drivers take every contract type from here.
export type { ByteRange }

/** What a stored object is, as far as the engine knows. */
export interface ObjectInfo {
  key: string
  size: number
  /** Last modification, if the engine reports one. */
  modified?: Date
}

export interface GetResult {
  body: ReadableStream<Uint8Array>
  /** Size of the whole object, not of the range. */
  size: number
  /** The range actually served (the end clamped to the last byte), when one was asked for. */
  range?: ByteRange
}

export interface PutOptions {
  /**
   * Exact byte count when known; drivers may use it to choose single-part over multipart. A body
   * of another length fails with StorageError('invalid') and stores nothing.
   */
  size?: number
  /** Aborting fails the put with StorageError('aborted') and stores nothing. */
  signal?: AbortSignal
}

export interface ListPage {
  keys: ObjectInfo[]
  /**
   * Pass back as `cursor` for the next page; null on the last page. Every driver here uses the
   * last key of the page, so a cursor means the same thing in every engine.
   */
  cursor: string | null
}

export interface PresignOptions {
  /** Seconds the URL stays valid. Short by default (ARCHITECTURE: presigned URLs short-lived). */
  expiresIn?: number
  /**
   * Limits the URL to this range. S3 signs it as a header: the client must send exactly
   * `Range: bytes=<start>-<end>`, as it does when it follows a redirect of its own ranged GET.
   */
  range?: ByteRange
}

/** What a sweepTemporary pass removed. */
export interface SweepResult {
  /** Temp files (fs) or open multipart uploads (s3). */
  items: number
  /** Their bytes, as far as the engine can tell. */
  bytes: number
}

/**
 * How an engine of the same kind can reach an object without the bytes passing through Meridian
 * (cross-location server-side copy, ARCHITECTURE §5 "Replicate"). Opaque to everything but drivers.
 */
export type CopySource =
  | { kind: 'fs'; path: string }
  | { kind: 's3'; service: string; bucket: string; key: string }
  | { kind: 'gcs'; service: string; bucket: string; key: string }
  | { kind: 'swift'; service: string; container: string; object: string }
  | { kind: 'url'; url: string }

/** Reads a copy's bytes before they are published; throws to refuse them (StorageEngine.copyFrom). */
export type CopyCheck = (body: ReadableStream<Uint8Array>) => Promise<void>

/** What copyFrom made; `checked`: `check` read these bytes and accepted them before they were published. */
export type CopiedObject = ObjectInfo & { checked?: boolean }

export type StorageErrorKind = 'unavailable' | 'denied' | 'invalid' | 'conflict' | 'aborted' | 'unknown'

/** The one error type drivers throw; never a raw SDK error. `retryable` drives replication retry. */
export class StorageError extends Error {
  readonly kind: StorageErrorKind
  readonly location: string
  constructor(kind: StorageErrorKind, location: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.name = 'StorageError'
    this.kind = kind
    this.location = location
  }
  get retryable(): boolean {
    return this.kind === 'unavailable' || this.kind === 'unknown' || this.kind === 'aborted'
  }
}

export interface StorageEngine {
  /** The location id this engine serves (used in errors and logs). */
  readonly location: string
  /** Driver name: 'fs', 's3', 'memory', ... */
  readonly driver: string
  /** Size of the object, or null when it does not exist. */
  stat(key: string): Promise<ObjectInfo | null>
  /**
   * Streams the object (or the inclusive byte range of it), or null when it does not exist.
   * A range that starts past the last byte (any range, on an empty object) throws
   * StorageError('invalid'); one that only ends past it is clamped, as HTTP does (RFC 9110 §14.1.2).
   */
  get(key: string, options?: { range?: ByteRange; signal?: AbortSignal }): Promise<GetResult | null>
  /**
   * Writes the stream under `key`, atomically: readers see the old object or the whole new one,
   * never a part. If the stream errors (for example a verifying transform rejects the digest),
   * nothing is left under `key` and the error is rethrown as it is. Overwriting is allowed and
   * idempotent for content-addressed keys. Memory use is bounded, whatever the size.
   */
  put(key: string, body: ReadableStream<Uint8Array>, options?: PutOptions): Promise<ObjectInfo>
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>
  /**
   * Keys starting with `prefix` (a plain string prefix, as in S3, not a directory), in lexical
   * (byte) order, a page at a time: at most `limit` (default and maximum 1,000) after `cursor`.
   */
  list(prefix: string, options?: { cursor?: string; limit?: number }): Promise<ListPage>
  /**
   * A short-lived URL a client can GET the object from directly, or null when the engine cannot
   * presign (the caller then serves the bytes itself). Optional.
   */
  presign?(key: string, options?: PresignOptions): Promise<string | null>
  /**
   * Server-side copy inside this engine (no bytes through our process), or null when the engine
   * cannot do it for this object, including when `fromKey` does not exist (the caller then
   * streams, and its get reports the absence). Atomic like put; the copy is independent of the
   * source afterwards. Optional.
   */
  copy?(fromKey: string, toKey: string): Promise<ObjectInfo | null>
  /**
   * Describes `key` for another location's copyFrom, or null when the object is missing or this
   * engine offers no server-side route. A 'url' source is a short-lived presigned URL. Optional.
   */
  copySource?(key: string): Promise<CopySource | null>
  /**
   * Copies an object of another location into this one under `key`, server-side, atomically like
   * put; `size` is the expected size. Null when this engine cannot use that source (another kind
   * or another service): the caller then streams. Optional.
   * An engine that can read the copy before it publishes it under `key` (fs: the temp file, read
   * while it is fsynced) passes those bytes to `check`: if `check` throws, nothing is published and
   * its error comes out unchanged; the answer then says `checked: true`. Otherwise the caller
   * verifies the published copy itself.
   */
  copyFrom?(source: CopySource, key: string, size: number, check?: CopyCheck): Promise<CopiedObject | null>
  /**
   * Removes what interrupted writes left behind in the engine's own scratch space (fs: files in
   * `<root>/.tmp`; s3: multipart uploads never completed), when its last activity is before
   * `olderThan`. A write in progress keeps its scratch space active (fs: each write updates the
   * file's ctime; s3: each part), so a cut-off older than the longest pause of a live write never
   * touches one; a write whose scratch space went anyway fails and stores nothing (put stays
   * atomic). Never touches an object. Returns what was removed (or, with dryRun, would be).
   * Optional: engines without scratch space, or that expire it themselves, leave it out.
   */
  sweepTemporary?(olderThan: Date, options?: { dryRun?: boolean }): Promise<SweepResult>
  /** Releases connections, timers, file handles. Optional. */
  close?(): Promise<void>
}
