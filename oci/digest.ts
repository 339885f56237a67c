// Digests (image-spec descriptor.md#digests): `algorithm:encoded`. We accept the two registered
// algorithms, sha256 (64 lowercase hex) and sha512 (128 lowercase hex).

import { ociError } from './errors.ts'

export type DigestAlgorithm = 'sha256' | 'sha512'

export interface ParsedDigest {
  algorithm: DigestAlgorithm
  hex: string
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 }

/** Parses a digest or returns null when it is not a supported, well-formed one. */
export function tryParseDigest(value: string): ParsedDigest | null {
  const colon = value.indexOf(':')
  if (colon < 0) return null
  const algorithm = value.slice(0, colon)
  const hex = value.slice(colon + 1)
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return null
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) return null
  return { algorithm, hex }
}

/** Parses a digest or throws DIGEST_INVALID. */
export function parseDigest(value: string): ParsedDigest {
  const parsed = tryParseDigest(value)
  if (!parsed) throw ociError('DIGEST_INVALID', { message: 'invalid or unsupported digest', detail: { digest: value } })
  return parsed
}

export function isDigest(value: string): boolean {
  return tryParseDigest(value) !== null
}

/** An incremental hash. The origin injects Node's native one (~14x faster than pure JS). */
export interface Hasher {
  update(chunk: Uint8Array): void
  /** Lowercase hex of the digest so far; the hasher must not be used afterwards. */
  hex(): string
  /** An independent copy of the state so far (a failed chunk must not advance a session's hash). */
  clone(): Hasher
}

export type HasherFactory = (algorithm: DigestAlgorithm) => Hasher

export interface VerifyExpectation {
  digest: string
  /** Exact size when known. */
  size?: number
}

/**
 * A pass-through stream that hashes and counts every byte and, at the end, errors the stream
 * with DIGEST_INVALID or SIZE_INVALID if the bytes are not what was expected. Put it in front of
 * StorageEngine.put: a stream that errors leaves nothing stored (the engine contract), so bytes
 * land only when verified. Also errors early when more bytes arrive than `size` allows.
 */
export function verifyingStream(expected: VerifyExpectation, createHasher: HasherFactory): TransformStream<Uint8Array, Uint8Array> {
  const { algorithm } = parseDigest(expected.digest)
  const hasher = createHasher(algorithm)
  let seen = 0
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength
      if (expected.size !== undefined && seen > expected.size) {
        throw ociError('SIZE_INVALID', { detail: { expected: expected.size, received: `more than ${expected.size}` } })
      }
      hasher.update(chunk)
      controller.enqueue(chunk)
    },
    flush() {
      if (expected.size !== undefined && seen !== expected.size) {
        throw ociError('SIZE_INVALID', { detail: { expected: expected.size, received: seen } })
      }
      const actual = `${algorithm}:${hasher.hex()}`
      if (actual !== expected.digest) {
        throw ociError('DIGEST_INVALID', { detail: { expected: expected.digest, actual } })
      }
    },
  })
}
