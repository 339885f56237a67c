// A byte scan of a JSON text's shape, run before JSON.parse: how deep it nests and how many values
// it holds. JSON.parse has no limits of its own, and what it costs follows the values it builds,
// not the bytes: 4 MiB of `[[[[…]]]]` took ~0.6-2.7 s and ~120-220 MB to refuse, 4 MiB of `[],`
// repeated ~0.65 s and ~60 MB, while a 4 MiB manifest whose bulk is one annotation string parses in
// a few milliseconds. The scan costs a few milliseconds per MiB and allocates nothing.

/** Bounds a pushed manifest's structure; a real manifest uses a small fraction of each. */
export interface JsonShapeLimits {
  /** Arrays and objects open at once. An image index nests 4 deep (manifests[].platform.features). */
  maxDepth: number
  /** Values of any kind plus object keys. A descriptor takes about 5-15. */
  maxValues: number
}

export interface JsonShape {
  depth: number
  values: number
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const OPEN_OBJECT = 0x7b
const CLOSE_ARRAY = 0x5d
const CLOSE_OBJECT = 0x7d
const COMMA = 0x2c
const COLON = 0x3a

/**
 * Scans `bytes` until it is done or a limit is passed, and returns what it saw: the deepest nesting
 * and the values, counted at each container opening and each `,` or `:` outside strings (within
 * one per container of the true count). Malformed JSON is not judged here, only measured:
 * JSON.parse refuses it afterwards, cheaply. UTF-8 continuation bytes are never ASCII, so a byte
 * scan cannot mistake part of a character for a bracket or a quote.
 */
export function scanJsonShape(bytes: Uint8Array, limits: JsonShapeLimits): JsonShape {
  let depth = 0
  let deepest = 0
  let values = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (inString) {
      if (b === BACKSLASH) i++
      else if (b === QUOTE) inString = false
      continue
    }
    if (b === QUOTE) {
      inString = true
    } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > deepest) deepest = depth
      values++
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
      depth--
    } else if (b === COMMA || b === COLON) {
      values++
    } else {
      continue
    }
    if (deepest > limits.maxDepth || values > limits.maxValues) break
  }
  return { depth: deepest, values }
}
