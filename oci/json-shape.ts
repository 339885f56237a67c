// A byte scan of a JSON text's shape, run before JSON.parse (and on a manifest body while it arrives): how deep it nests and how many values
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
 * Measures a JSON text chunk by chunk, so a body can be refused while it arrives: `push` returns
 * the shape so far. Nesting is the deepest seen; values are counted at each container opening and
 * each `,` or `:` outside strings (within one per container of the true count). Malformed JSON is
 * not judged here, only measured: JSON.parse refuses it afterwards, cheaply. UTF-8 continuation
 * bytes are never ASCII, so a byte scan cannot mistake part of a character for a bracket or quote.
 * Once a limit is passed, the rest is not scanned.
 */
export function createJsonShapeScanner(limits: JsonShapeLimits): { push(bytes: Uint8Array): JsonShape } {
  let depth = 0
  let deepest = 0
  let values = 0
  let inString = false
  // A backslash ended the previous chunk: the first byte of this one is escaped.
  let escaped = false
  return {
    push(bytes) {
      if (deepest > limits.maxDepth || values > limits.maxValues) return { depth: deepest, values }
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]!
        if (escaped) {
          escaped = false
        } else if (inString) {
          if (b === BACKSLASH) escaped = true
          else if (b === QUOTE) inString = false
        } else if (b === QUOTE) {
          inString = true
        } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
          if (++depth > deepest) deepest = depth
          if (++values > limits.maxValues || deepest > limits.maxDepth) break
        } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
          depth--
        } else if (b === COMMA || b === COLON) {
          if (++values > limits.maxValues) break
        }
      }
      return { depth: deepest, values }
    },
  }
}

/** The shape of a whole JSON text (createJsonShapeScanner on one chunk). */
export function scanJsonShape(bytes: Uint8Array, limits: JsonShapeLimits): JsonShape {
  return createJsonShapeScanner(limits).push(bytes)
}
