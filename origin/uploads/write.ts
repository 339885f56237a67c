// Writing verified bytes to the preferred location: the first writable, healthy location in this
// origin's preference that the repository's residency allows. Storage first, database second.

import { StorageError } from '../../storage/engine.ts'
import { blobKey } from '../../storage/keys.ts'
import { verifyingStream } from '../../oci/digest.ts'
import { ociError, isOciError } from '../../oci/errors.ts'
import { namespaceOf } from '../../oci/names.ts'
import type { ResolvedDeps } from '../app.ts'
import type { Location } from '../locations.ts'
import { describeError } from '../log.ts'

/** Where a push to `repository` goes now, best first. Empty → 503. */
export function writeCandidates(deps: ResolvedDeps, repository: string): Location[] {
  const list = deps.locations.writeOrder((id) => deps.mayWrite(repository, id))
  if (list.length === 0) throw ociError('UNAVAILABLE', { message: 'no writable storage location for this repository', detail: { namespace: namespaceOf(repository) } })
  return list
}

/**
 * The write candidates with the first one that answers a probe moved to the front: a push never
 * opens a session in (or streams into) a location that is down when another one is up. Falling
 * back is logged and counted (meridian_push_fallback_total).
 */
export async function reachableWriteOrder(deps: ResolvedDeps, repository: string): Promise<Location[]> {
  const candidates = writeCandidates(deps, repository)
  for (let i = 0; i < candidates.length; i++) {
    if (!(await deps.locations.probe(candidates[i].id))) continue
    if (i > 0) {
      deps.log.warn('preferred location is down, pushing to the next', { preferred: candidates[0].id, used: candidates[i].id, repository })
      deps.onFallback(candidates[0].id, candidates[i].id)
    }
    return [candidates[i], ...candidates.filter((_, j) => j !== i)]
  }
  throw ociError('UNAVAILABLE', { message: 'no storage location this repository may use is reachable', detail: { tried: candidates.map((l) => l.id) } })
}

/**
 * Turns a storage failure during a push into a 503 and remembers the location as down. With
 * `fromClient` the bytes were the request's own body: the guard (storage/guard.ts) wraps every
 * engine failure in a StorageError and hands the body's own errors back unchanged, so anything
 * else is the client going away mid-upload, which says nothing about the location.
 */
export function storageFailure(deps: ResolvedDeps, location: Location, err: unknown, options: { fromClient?: boolean } = {}): never {
  if (isOciError(err)) throw err
  if (options.fromClient && !(err instanceof StorageError)) {
    throw ociError('BLOB_UPLOAD_INVALID', { message: 'the request body ended before it was complete', cause: err })
  }
  deps.locations.markDown(location.id, err)
  deps.log.warn('write to location failed', { location: location.id, error: describeError(err) })
  if (err instanceof StorageError && !err.retryable) throw ociError('UNKNOWN', { cause: err })
  throw ociError('UNAVAILABLE', { message: 'storage location unavailable, retry', detail: { location: location.id } })
}

/**
 * Stores bytes under the digest's content key, verified while streaming. `body` is called once per
 * attempt: a body that can be re-created (a manifest in memory) fails over to the next location,
 * a one-shot request stream does not (`retry: false`). Returns where it is now, and its size.
 */
export async function writeVerifiedBlob(
  deps: ResolvedDeps,
  repository: string,
  expected: { digest: string; size?: number },
  body: () => ReadableStream<Uint8Array>,
  options: { retry: boolean },
): Promise<{ location: Location; size: number }> {
  const candidates = await reachableWriteOrder(deps, repository)
  for (let i = 0; ; i++) {
    const location = candidates[i]
    try {
      const stored = await location.engine.put(blobKey(expected.digest), body().pipeThrough(verifyingStream(expected, deps.createHasher)), { size: expected.size })
      if (i > 0) {
        deps.log.warn('push written to a fallback location', { location: location.id, preferred: candidates[0].id, digest: expected.digest })
        deps.onFallback(candidates[0].id, location.id)
      }
      return { location, size: stored.size }
    } catch (err) {
      // retry: false is the one-shot request stream: its failures may be the client's.
      if (isOciError(err) || !options.retry || i + 1 >= candidates.length) storageFailure(deps, location, err, { fromClient: !options.retry })
      deps.locations.markDown(location.id, err)
      deps.log.warn('write failed, trying the next location', { location: location.id, error: describeError(err) })
    }
  }
}
