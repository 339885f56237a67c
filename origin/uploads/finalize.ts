// Finishing an upload (distribution-spec: PUT ?digest=): verify, store under the content key,
// then one transaction records blob, link, placement and replication jobs (ARCHITECTURE §5).

import { blobKey, uploadPartKey } from '../../storage/keys.ts'
import { parseDigest, verifyingStream } from '../../oci/digest.ts'
import { ociError } from '../../oci/errors.ts'
import { commitBlob } from '../../db/queries/blobs.ts'
import { partNoncesOf, type Upload } from '../../db/queries/uploads.ts'
import type { ResolvedDeps } from '../app.ts'
import { concatParts, deleteParts } from './parts.ts'
import { sessionLocation } from './session.ts'
import { storageFailure } from './write.ts'

export async function finishUpload(deps: ResolvedDeps, repository: string, upload: Upload, digest: string): Promise<void> {
  const { algorithm } = parseDigest(digest)
  const location = sessionLocation(deps, upload)
  const { engine } = location
  const cached = deps.hashCache.get(upload.id)
  const known = algorithm === 'sha256' && cached && cached.offset === upload.offset ? `sha256:${cached.hasher.clone().hex()}` : null
  if (known !== null && known !== digest) {
    throw ociError('DIGEST_INVALID', { detail: { expected: digest, actual: known } })
  }
  try {
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
    storageFailure(deps, location, err)
  }
  commitBlob(deps.db, {
    repository, digest, size: upload.offset, location: location.id,
    targetsFor: deps.replicationTargets, uploadId: upload.id,
  })
  deps.onCommit()
  deps.hashCache.delete(upload.id)
  await deleteParts(engine, upload.id, partNoncesOf(upload)).catch(() => undefined)
}
