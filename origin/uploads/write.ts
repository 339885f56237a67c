// Writing verified bytes to the preferred location: the first writable, healthy location in this
// origin's preference that the repository's residency allows. Storage first, database second.

import { StorageError } from '../../storage/engine.ts'
import { blobKey } from '../../storage/keys.ts'
import { verifyingStream } from '../../oci/digest.ts'
import { ociError, isOciError } from '../../oci/errors.ts'
import { namespaceOf } from '../../oci/names.ts'
import type { ResolvedDeps } from '../deps.ts'
import type { Location } from '../locations.ts'
import { describeError } from '../log.ts'
import { isClientBodyError } from './client-body.ts'
import { replayableBody } from './replayable-body.ts'

/** Where a push to `repository` goes now, best first. Empty → 503. */
export function writeCandidates(deps: ResolvedDeps, repository: string): Location[] {
  const list = deps.locations.writeOrder((id) => deps.mayWrite(repository, id))
  if (list.length === 0) throw ociError('UNAVAILABLE', { message: 'no writable storage location for this repository', detail: { namespace: namespaceOf(repository) } })
  return list
}

/**
 * The write candidates with the first one that takes a write probe moved to the front: a push
 * never opens a session in (or streams into) a location that cannot be written when another can.
 */
export async function reachableWriteOrder(deps: ResolvedDeps, repository: string): Promise<Location[]> {
  const candidates = writeCandidates(deps, repository)
  for (let i = 0; i < candidates.length; i++) {
    if (!(await deps.locations.probe(candidates[i].id))) continue
    return [candidates[i], ...candidates.filter((_, j) => j !== i)]
  }
  throw ociError('UNAVAILABLE', { message: 'no storage location this repository may use takes writes now', detail: { tried: candidates.map((l) => l.id) } })
}

/**
 * Logs and counts (meridian_push_fallback_total) a push that landed on `used` when the preference
 * names another location first. Once per push, however long the preferred one has been down.
 */
export function noteFallback(deps: ResolvedDeps, repository: string, used: Location, what: Record<string, unknown> = {}): void {
  const [preferred] = deps.locations.preferenceOrder((id) => deps.mayWrite(repository, id))
  if (!preferred || preferred.id === used.id) return
  deps.log.warn('preferred location does not take writes, pushed to the next', { preferred: preferred.id, used: used.id, repository, ...what })
  deps.onFallback(preferred.id, used.id)
}

/**
 * Turns a storage failure during a push into a 503 and remembers the location as down for
 * writes. A failed read of the request's own body (ClientBodyError: origin/uploads/client-body.ts)
 * is the client's: 400, the location stays healthy. With `fromClient` the bytes were the request's
 * own body: the guard (storage/guard.ts) wraps every engine failure in a StorageError and hands the
 * body's own errors back unchanged, so anything else (the database failing on the session row, a bug) is
 * the server's fault, left to the app's onError: logged, answered 500. Without it the body is
 * read from storage, whose mid-stream failures are not wrapped: the location's state.
 * Whatever a location answers a write with (no permission, read-only or full filesystem, a path
 * that is not a directory, a 403 or 5xx) is the location's state, not the caller's fault.
 */
export function storageFailure(deps: ResolvedDeps, location: Location, err: unknown, options: { fromClient?: boolean } = {}): never {
  if (isOciError(err)) throw err
  if (isClientBodyError(err)) throw ociError('BLOB_UPLOAD_INVALID', { message: err.message, cause: err })
  if (options.fromClient && !(err instanceof StorageError)) throw err
  deps.locations.markDown(location.id, err, 'write')
  deps.log.warn('write to location failed', { location: location.id, error: describeError(err) })
  if (err instanceof StorageError && err.kind === 'invalid') throw ociError('UNKNOWN', { cause: err })
  throw ociError('UNAVAILABLE', { message: 'storage location does not take writes now, retry', detail: { location: location.id } })
}

/**
 * `candidates` with `session` (the location of an upload session) first while it takes
 * writes: the bytes of a session go where it was opened, as its parts would have.
 */
function inSessionFirst(deps: ResolvedDeps, candidates: Location[], session: string | undefined): Location[] {
  const own = candidates.find((l) => l.id === session)
  if (!own || own === candidates[0] || !deps.locations.isWritable(own.id)) return candidates
  return [own, ...candidates.filter((l) => l !== own)]
}

/**
 * Stores bytes under the digest's content key, verified while streaming, in the first location
 * that takes them. `body` is called once per attempt and answers null when no further attempt
 * can be made (a request body read past what it keeps: uploads/replayable-body.ts); a body that
 * can always be re-created (a manifest in memory, parts in storage) fails over to every location.
 * With `fromClient` the bytes are the request's own (read through clientBody: a failure of theirs
 * is the client's). `sessionLocation`: where the upload session the bytes finish lives, tried first.
 * Returns where the blob is now, and its size.
 */
export async function writeVerifiedBlob(
  deps: ResolvedDeps,
  repository: string,
  expected: { digest: string; size?: number },
  body: () => ReadableStream<Uint8Array> | null,
  options: { fromClient: boolean; sessionLocation?: string },
): Promise<{ location: Location; size: number }> {
  const candidates = inSessionFirst(deps, await reachableWriteOrder(deps, repository), options.sessionLocation)
  let failed: { location: Location; err: unknown } | null = null
  for (const location of candidates) {
    const stream = body()
    if (!stream) break
    try {
      const stored = await location.engine.put(blobKey(expected.digest), stream.pipeThrough(verifyingStream(expected, deps.createHasher)), { size: expected.size })
      // A session's own location was noted (if it was a fallback) when the session opened.
      if (location.id !== options.sessionLocation) noteFallback(deps, repository, location, { digest: expected.digest })
      return { location, size: stored.size }
    } catch (err) {
      if (isOciError(err) || !(err instanceof StorageError)) storageFailure(deps, location, err, { fromClient: options.fromClient })
      if (err.location !== location.id) {
        // The body's own source failed (parts being read from another location): not this one.
        deps.locations.markDown(err.location, err, 'read')
        throw ociError('UNAVAILABLE', { message: 'the upload\'s stored parts cannot be read now, retry', detail: { location: err.location }, cause: err })
      }
      failed = { location, err }
      deps.locations.markDown(location.id, err, 'write')
      deps.log.warn('write failed, trying the next location', { location: location.id, error: describeError(err) })
    }
  }
  if (!failed) throw ociError('UNAVAILABLE', { message: 'no storage location this repository may use takes writes now' })
  storageFailure(deps, failed.location, failed.err, { fromClient: options.fromClient })
}

/**
 * A request's whole body as the blob (monolithic POST ?digest=, or a session's one closing PUT):
 * a location that refuses the write early leaves the body to the next one (replayable-body.ts).
 */
export async function writeClientBlob(deps: ResolvedDeps, repository: string, expected: { digest: string; size?: number }, body: ReadableStream<Uint8Array>, sessionLocation?: string): Promise<{ location: Location; size: number }> {
  const replay = replayableBody(body)
  return writeVerifiedBlob(deps, repository, expected, () => replay.attempt(), { fromClient: true, sessionLocation }).catch(async (err) => {
    await replay.abandon(err)
    throw err
  })
}
