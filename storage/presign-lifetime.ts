// How long a presigned URL stays valid: one setting for every location that can redirect (the
// clouds' presigned URLs and the signed URLs of local-disk locations, storage/signed-url.ts).
// Portable: the edge reads it from its own environment, the origin from its configuration.
//
// Why 20 minutes. S3, Azure and GCS check a presigned URL when a request starts, not while its body
// flows, and so does the origin's signed-blob route: the lifetime bounds when a download may
// *start*, not how long it may take. But a client that is cut off mid-layer resumes with a Range
// request on the same URL (containerd does), and docker pulls a few layers at once and starts the
// later ones only when earlier ones finish. A 2 GiB layer at 20 Mbit/s takes 2 GiB × 8 / 20 Mbit/s
// ≈ 14.3 minutes; Quay's 10 minutes would refuse the resume of such a pull near its end. 20 minutes
// covers it with room for the queueing, and a leaked URL still dies within the half hour. The
// longest allowed is S3's own SigV4 limit, 7 days.

export const DEFAULT_PRESIGN_SECONDS = 20 * 60

/** S3 refuses SigV4 URLs that live longer (X-Amz-Expires ≤ 604800); we hold every signer to it. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60

/** Shortest useful lifetime: a client must get to follow the redirect. */
export const MIN_PRESIGN_SECONDS = 10

/**
 * Reads a lifetime from text (an environment variable): whole seconds within the bounds above,
 * the default when absent or empty. Throws a RangeError naming `source` otherwise.
 */
export function readPresignSeconds(text: string | undefined, source = 'MERIDIAN_PRESIGN_SECONDS'): number {
  if (text === undefined || text.trim() === '') return DEFAULT_PRESIGN_SECONDS
  const seconds = Number(text.trim())
  if (!Number.isInteger(seconds) || seconds < MIN_PRESIGN_SECONDS || seconds > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`${source}: expected whole seconds from ${MIN_PRESIGN_SECONDS} to ${MAX_PRESIGN_SECONDS}, got ${JSON.stringify(text)}`)
  }
  return seconds
}
