// Byte ranges: the `Range` request header of a blob GET (RFC 9110 §14.2) and the
// `Content-Range` header of an upload PATCH (distribution-spec "Pushing a blob in chunks").

import { ociError } from './errors.ts'

/** An inclusive byte range. Defined here, at the bottom layer; storage/engine.ts re-exports it. */
export interface ByteRange {
  /** First byte, inclusive. */
  start: number
  /** Last byte, inclusive (HTTP Range semantics). May run past the end: it is then clamped. */
  end: number
}

// One range-spec only: `bytes=first-last`, `bytes=first-` or `bytes=-suffix`. The unit is
// case-insensitive (RFC 9110 §14.1); whitespace around the spec is tolerated.
const RANGE = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i
// distribution-spec writes `<start>-<end>`; clients also send `bytes <start>-<end>[/<total>]`.
const CONTENT_RANGE = /^\s*(?:bytes\s+)?(\d+)\s*-\s*(\d+)\s*(?:\/\s*(\d+|\*))?\s*$/i

/**
 * The byte range a blob GET asks for, or null for the whole blob: when there is no header, and
 * when the header is malformed or asks for several ranges (RFC 9110 §14.2 lets a server ignore
 * it). An end past the blob is clamped. Throws RANGE_INVALID (416, with `Content-Range:
 * bytes *\/size`) when the one range it asks for cannot be served: a start at or past the end, a
 * zero-length suffix, any range of an empty blob, and an inverted range (`bytes=500-0`).
 */
export function parseRangeHeader(header: string | null, size: number): ByteRange | null {
  if (header === null) return null
  const match = RANGE.exec(header)
  if (!match) return null
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return null

  if (first === '') {
    // Suffix range: the last N bytes; a zero-length suffix is unsatisfiable (RFC 9110 §14.1.1).
    const suffix = Number(last)
    if (suffix === 0 || size === 0) throw unsatisfiable(header, size)
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }

  const start = Number(first)
  const end = last === '' ? Infinity : Number(last)
  // RFC 9110 §14.1.1 calls a last-pos below the first-pos invalid, which a server MAY ignore; we
  // answer 416 instead, as distribution (Go's http.ServeContent) does: a client that asked for
  // `bytes=500-0` wants a piece, and the whole blob with 200 would silently hand it the wrong one.
  if (end < start) throw unsatisfiable(header, size)
  if (start >= size) throw unsatisfiable(header, size)
  return { start, end: Math.min(end, size - 1) }
}

/**
 * The chunk range of an upload PATCH: `<start>-<end>` (inclusive), with an optional `bytes `
 * prefix and `/<total>` suffix. Throws RANGE_INVALID (416) when malformed: distribution-spec
 * answers 416 to an invalid Content-Range. Whether it continues the upload is the caller's check.
 */
export function parseContentRange(header: string): ByteRange {
  const match = CONTENT_RANGE.exec(header)
  if (!match) throw invalidContentRange(header, 'expected <start>-<end>')
  const [, first = '', last = '', total] = match
  const start = Number(first)
  const end = Number(last)
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) throw invalidContentRange(header, 'offset too large')
  if (end < start) throw invalidContentRange(header, 'end is before start')
  if (total !== undefined && total !== '*' && end >= Number(total)) {
    throw invalidContentRange(header, 'end is past the total length')
  }
  return { start, end }
}

/** The `Content-Range` of a 206 response: `bytes start-end/size` (RFC 9110 §14.4). */
export function contentRangeHeader(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`
}

function unsatisfiable(header: string, size: number) {
  return ociError('RANGE_INVALID', {
    detail: { range: header, size },
    headers: { 'Content-Range': `bytes */${size}` },
  })
}

function invalidContentRange(header: string, reason: string) {
  return ociError('RANGE_INVALID', {
    message: `invalid Content-Range: ${reason}`,
    detail: { contentRange: header },
    status: 416,
  })
}
