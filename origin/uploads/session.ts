// Upload sessions (distribution-spec "Pushing blobs"): open, append a chunk, cancel. The session
// row is durable; the parts live in the session's location under uploads/<id>/.

import { uploadPartKey } from '../../storage/keys.ts'
import { ociError } from '../../oci/errors.ts'
import { createUpload, advanceUpload, deleteUpload, findUpload, partNoncesOf, type Upload } from '../../db/queries/uploads.ts'
import { ensureRepository, type Repository } from '../../db/queries/repositories.ts'
import type { ResolvedDeps } from '../app.ts'
import type { Location } from '../locations.ts'
import { countingStream, deleteParts } from './parts.ts'
import { reachableWriteOrder, storageFailure } from './write.ts'


export async function openSession(deps: ResolvedDeps, repository: string): Promise<Upload> {
  const [location] = await reachableWriteOrder(deps, repository)
  return deps.db.transaction((tx) => {
    const repo = ensureRepository(tx, repository)
    return createUpload(tx, { id: crypto.randomUUID(), repositoryId: repo.id, location: location.id })
  })
}

/** The session, if it exists and belongs to this repository; else BLOB_UPLOAD_UNKNOWN. */
export function requireSession(deps: ResolvedDeps, repo: Repository | null, id: string): Upload {
  const upload = /^[0-9a-f-]{36}$/.test(id) ? findUpload(deps.db, id) : null
  if (!upload || !repo || upload.repositoryId !== repo.id) throw ociError('BLOB_UPLOAD_UNKNOWN', { detail: { uuid: id } })
  return upload
}

export function sessionLocation(deps: ResolvedDeps, upload: Upload): Location {
  const location = deps.locations.get(upload.location)
  if (!location) throw ociError('BLOB_UPLOAD_UNKNOWN', { message: 'the upload session\'s location is no longer configured', detail: { uuid: upload.id } })
  return location
}

/**
 * Appends one chunk. `start` (from Content-Range) must equal the session's offset, else 416;
 * `length` is the exact byte count when the client declared one. Returns the updated session.
 */
export async function appendChunk(deps: ResolvedDeps, upload: Upload, body: ReadableStream<Uint8Array>, declared: { start: number | null; length: number | null }): Promise<Upload> {
  if (declared.start !== null && declared.start !== upload.offset) throw outOfOrder(upload)
  // A declared empty chunk: nothing to store (a part would be written, fsynced and deleted).
  if (declared.length === 0) return upload
  // One chunk at a time per session (the spec has clients upload in order). This set only spares
  // wasted writes in this app; correctness across origins comes from the nonce and advanceUpload.
  const busy = deps.uploadsInProgress
  if (busy.has(upload.id)) throw outOfOrder(upload)
  busy.add(upload.id)
  try {
    const location = sessionLocation(deps, upload)
    const cached = deps.hashCache.get(upload.id)
    // Speculatively SHA-256: nearly every digest is one. A failed chunk must not advance it.
    const hasher = cached && cached.offset === upload.offset ? cached.hasher.clone() : upload.offset === 0 ? deps.createHasher('sha256') : null
    const counter = countingStream(declared.length, (chunk) => hasher?.update(chunk))
    const nonce = crypto.randomUUID().slice(0, 8)
    const key = uploadPartKey(upload.id, upload.parts, nonce)
    try {
      await location.engine.put(key, body.pipeThrough(counter.stream), { size: declared.length ?? undefined })
    } catch (err) {
      storageFailure(deps, location, err, { fromClient: true })
    }
    const added = counter.count()
    if (added === 0) {
      await location.engine.delete(key)
      return upload
    }
    if (!advanceUpload(deps.db, upload.id, upload.offset, upload.parts, added, nonce)) {
      // Another PATCH took this offset first: its part has its own key; drop only ours.
      await location.engine.delete(key)
      throw outOfOrder(upload)
    }
    const next = { ...upload, offset: upload.offset + added, parts: upload.parts + 1, partNonces: JSON.stringify([...partNoncesOf(upload), nonce]) }
    if (hasher) deps.hashCache.set(upload.id, { offset: next.offset, hasher })
    return next
  } finally {
    busy.delete(upload.id)
  }
}

export async function cancelSession(deps: ResolvedDeps, upload: Upload): Promise<void> {
  deleteUpload(deps.db, upload.id)
  deps.hashCache.delete(upload.id)
  const location = deps.locations.get(upload.location)
  if (location) await deleteParts(location.engine, upload.id, partNoncesOf(upload))
}

// distribution-spec: "If a chunk is uploaded out of order, the registry MUST respond 416".
function outOfOrder(upload: Upload) {
  return ociError('BLOB_UPLOAD_INVALID', {
    status: 416,
    message: 'chunk out of order: resume from the offset in the Range header',
    detail: { offset: upload.offset },
    headers: { Range: `0-${Math.max(upload.offset - 1, 0)}`, 'Docker-Upload-UUID': upload.id },
  })
}
