import { describe, expect, it } from 'vitest'
import { OciError } from './errors.ts'
import { contentRangeHeader, parseContentRange, parseRangeHeader } from './range.ts'

/** Runs fn, asserts it threw RANGE_INVALID with status 416, and returns the error. */
function rangeInvalid(fn: () => unknown): OciError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(OciError)
    expect((err as OciError).code).toBe('RANGE_INVALID')
    expect((err as OciError).status).toBe(416)
    return err as OciError
  }
  throw new Error('expected RANGE_INVALID, nothing was thrown')
}

describe('parseRangeHeader', () => {
  it('answers null (whole blob) when there is no Range header', () => {
    expect(parseRangeHeader(null, 100)).toBeNull()
  })

  it('parses bytes=start-end as an inclusive range', () => {
    expect(parseRangeHeader('bytes=0-9', 100)).toEqual({ start: 0, end: 9 })
    expect(parseRangeHeader('bytes=10-10', 100)).toEqual({ start: 10, end: 10 })
  })

  it('parses bytes=start- as start through the last byte', () => {
    expect(parseRangeHeader('bytes=90-', 100)).toEqual({ start: 90, end: 99 })
  })

  it('parses bytes=-suffix as the last N bytes', () => {
    expect(parseRangeHeader('bytes=-10', 100)).toEqual({ start: 90, end: 99 })
  })

  it('answers the whole blob for a suffix longer than the blob', () => {
    expect(parseRangeHeader('bytes=-500', 100)).toEqual({ start: 0, end: 99 })
  })

  it('clamps an end past the blob to its last byte', () => {
    expect(parseRangeHeader('bytes=50-1000', 100)).toEqual({ start: 50, end: 99 })
    expect(parseRangeHeader(`bytes=0-${'9'.repeat(30)}`, 100)).toEqual({ start: 0, end: 99 })
  })

  it('accepts a case-insensitive unit and whitespace around the range', () => {
    expect(parseRangeHeader(' Bytes = 1 - 2 ', 100)).toEqual({ start: 1, end: 2 })
  })

  it('ignores (null) malformed headers', () => {
    for (const header of ['', 'bytes=', 'bytes=-', 'bytes=a-b', 'bytes 0-9', '0-9', 'bytes=1.5-3', 'bytes=-3-4', 'bytes=+1-2']) {
      expect(parseRangeHeader(header, 100), header).toBeNull()
    }
  })

  it('rejects an inverted range (end before start) with RANGE_INVALID 416 and Content-Range bytes */size', () => {
    for (const header of ['bytes=9-3', 'bytes=500-0', 'bytes=1-0', `bytes=${'9'.repeat(30)}-0`]) {
      expect(rangeInvalid(() => parseRangeHeader(header, 100)).headers, header).toEqual({ 'Content-Range': 'bytes */100' })
    }
    expect(rangeInvalid(() => parseRangeHeader('bytes=5-2', 0)).headers).toEqual({ 'Content-Range': 'bytes */0' })
  })

  it('ignores (null) multi-range requests', () => {
    expect(parseRangeHeader('bytes=0-1,5-6', 100)).toBeNull()
    expect(parseRangeHeader('bytes=0-1, -5', 100)).toBeNull()
  })

  it('ignores (null) units other than bytes', () => {
    expect(parseRangeHeader('items=0-9', 100)).toBeNull()
  })

  it('rejects a start at or past the size with RANGE_INVALID 416 and Content-Range bytes */size', () => {
    for (const header of ['bytes=100-', 'bytes=100-200', 'bytes=500-600', `bytes=${'9'.repeat(30)}-`]) {
      const err = rangeInvalid(() => parseRangeHeader(header, 100))
      expect(err.headers).toEqual({ 'Content-Range': 'bytes */100' })
    }
  })

  it('rejects any range on an empty blob with RANGE_INVALID 416', () => {
    for (const header of ['bytes=0-', 'bytes=0-0', 'bytes=-1']) {
      expect(rangeInvalid(() => parseRangeHeader(header, 0)).headers).toEqual({ 'Content-Range': 'bytes */0' })
    }
  })

  it('rejects a zero-length suffix with RANGE_INVALID 416 (RFC 9110 §14.1.1)', () => {
    rangeInvalid(() => parseRangeHeader('bytes=-0', 100))
  })

  it('answers the whole blob for a malformed header even on an empty blob', () => {
    expect(parseRangeHeader('nonsense', 0)).toBeNull()
  })
})

describe('parseContentRange', () => {
  it('parses the spec form <start>-<end> as inclusive', () => {
    expect(parseContentRange('0-1023')).toEqual({ start: 0, end: 1023 })
  })

  it('accepts a "bytes " prefix', () => {
    expect(parseContentRange('bytes 1024-2047')).toEqual({ start: 1024, end: 2047 })
  })

  it('accepts a /total suffix, numeric or *', () => {
    expect(parseContentRange('bytes 0-9/10')).toEqual({ start: 0, end: 9 })
    expect(parseContentRange('0-9/*')).toEqual({ start: 0, end: 9 })
  })

  it('accepts a single-byte chunk', () => {
    expect(parseContentRange('5-5')).toEqual({ start: 5, end: 5 })
  })

  it('rejects malformed values with RANGE_INVALID 416', () => {
    for (const header of ['', '-', '0-', '-9', 'a-b', 'bytes=0-9', 'bytes 0-9/', '0-9/x', '1.5-3', '0-9,10-19', 'bytes */10']) {
      const err = rangeInvalid(() => parseContentRange(header))
      expect(err.detail).toEqual({ contentRange: header })
    }
  })

  it('rejects an end before the start with RANGE_INVALID 416', () => {
    expect(rangeInvalid(() => parseContentRange('10-9')).message).toMatch(/end is before start/)
  })

  it('rejects an end at or past the stated total with RANGE_INVALID 416', () => {
    rangeInvalid(() => parseContentRange('0-10/10'))
  })

  it('rejects offsets beyond the safe integers with RANGE_INVALID 416', () => {
    rangeInvalid(() => parseContentRange(`0-${'9'.repeat(20)}`))
  })
})

describe('contentRangeHeader', () => {
  it('writes bytes start-end/size', () => {
    expect(contentRangeHeader({ start: 0, end: 9 }, 100)).toBe('bytes 0-9/100')
    expect(contentRangeHeader({ start: 90, end: 99 }, 100)).toBe('bytes 90-99/100')
  })
})
