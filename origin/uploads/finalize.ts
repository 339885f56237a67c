// Finishing an upload (distribution-spec: PUT ?digest=): verify, store under the content key,
// then one transaction records blob, link, placement and replication jobs (ARCHITECTURE §5).
// A PUT that carries the session's whole blob skips the parts altogether (finishWholeUpload).

import { blobKey, uploadPartKey } from '../../storage/keys.ts'
import { parseDigest, verifyingStream } from '../../oci/digest.ts'
import { ociError, isOciError } from '../../oci/errors.ts'
import { StorageError } from '../../storage/engine.ts'
import { describeError } from '../log.ts'
import { commitBlob } from '../../db/queries/blobs.ts'
import { findUpload, partNoncesOf, UploadChanged, type Upload } from '../../db/queries/uploads.ts'
import type { ResolvedDeps } from '../deps.ts'
import { concatParts, deleteParts } from './parts.ts'
import { outOfOrder, sessionLocation } from './session.ts'
import { storageFailure, writeClientBlob, writeVerifiedBlob } from './write.ts'

export async function finishUpload(deps: ResolvedDeps, repository: string, upload: Upload, digest: string): Promise<void> {
  const { algorithm } = parseDigest(digest)
  const location = sessionLocation(deps, upload)
  const { engine } = location
  const cached = deps.hashCache.get(upload.id)
  const known = algorithm === 'sha256' && cached && cached.offset === upload.offset ? `sha256:${cached.hasher.clone().hex()}` : null
  if (known !== null && known !== digest) {
    throw ociError('DIGEST_INVALID', { detail: { expected: digest, actual: known } })
  }
  let stored = location
  try {
    if (!deps.locations.isWritable(location.id)) throw new StorageError('unavailable', location.id, `${location.id}: marked down for writes`)
    // One part whose hash we watched stream in: move it server-side (fs: a hard link).
    const nonces = partNoncesOf(upload)
    const moved = known !== null && upload.parts === 1 && engine.copy ? await engine.copy(uploadPartKey(upload.id, 0, nonces[0]), blobKey(digest)) : null
    if (!moved) {
      const body = concatParts(engine, upload.id, nonces).pipeThrough(verifyingStream({ digest, size: upload.offset }, deps.createHasher))
      await engine.put(blobKey(digest), body, { size: upload.offset })
    } else if (moved.size !== upload.offset) {
      throw ociError('SIZE_INVALID', { detail: { expected: upload.offset, stored: moved.size } })
    }
  } catch (err) {
    if (isOciError(err) || !(err instanceof StorageError) || err.location !== location.id || err.kind === 'invalid') storageFailure(deps, location, err)
    // The session's location takes no writes (read-only, full, no permission), but its parts can
    // still be read, most often: the blob goes to the next location that takes it.
    deps.locations.markDown(location.id, err, 'write')
    deps.log.warn('upload finished in another location: its own does not take writes', { uuid: upload.id, location: location.id, error: describeError(err) })
    stored = (await writeVerifiedBlob(deps, repository, { digest, size: upload.offset }, () => concatParts(engine, upload.id, partNoncesOf(upload)), { fromClient: false })).location
  }
  await commitBlob(deps.db, {
    repository, digest, size: upload.offset, location: stored.id,
    targetsFor: deps.replicationTargets, uploadId: upload.id,
  })
  deps.onCommit()
  deps.hashCache.delete(upload.id)
  await deleteParts(engine, upload.id, partNoncesOf(upload)).catch(() => undefined)
}

/**
 * A PUT whose body is the session's whole blob (no part before it: the spec's "POST then PUT"):
 * the bytes are verified into the content key as a monolithic POST ?digest= stores them, not
 * written as a part, linked and deleted (on fs: half the writes and fsyncs, and no session
 * update). The session row goes in the commit, only if no chunk reached it meanwhile.
 */
export async function finishWholeUpload(deps: ResolvedDeps, repository: string, upload: Upload, digest: string, body: ReadableStream<Uint8Array>, length: number | null): Promise<void> {
  sessionLocation(deps, upload)
  // One request at a time per session, as for chunks (uploads/session.ts appendChunk).
  const busy = deps.uploadsInProgress
  if (busy.has(upload.id)) throw outOfOrder(upload)
  busy.add(upload.id)
  try {
    const stored = await writeClientBlob(deps, repository, { digest, size: length ?? undefined }, body, upload.location)
    await commitBlob(deps.db, {
      repository, digest, size: stored.size, location: stored.location.id,
      targetsFor: deps.replicationTargets, uploadId: upload.id, uploadParts: 0,
    }).catch(async (err) => {
      if (!(err instanceof UploadChanged)) throw err
      // Cancelled, finished by another PUT, or a PATCH got in first. The verified bytes stored under
      // their digest stay unreferenced, as after any failed commit: a later push of that digest
      // overwrites them, and if none comes `npm run gc` (and the origin's daily pass) removes them
      // a day later (origin/uploads/sweep-orphan-blobs.ts).
      const now = await findUpload(deps.db, upload.id)
      throw now ? outOfOrder(now) : ociError('BLOB_UPLOAD_UNKNOWN', { detail: { uuid: upload.id } })
    })
  } finally {
    busy.delete(upload.id)
  }
  deps.onCommit()
  deps.hashCache.delete(upload.id)
}
