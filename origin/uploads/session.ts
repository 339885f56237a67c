// Upload sessions (distribution-spec "Pushing blobs"): open, append a chunk, cancel. The session
// row is durable; the parts live in the session's location under uploads/<id>/.

import { uploadPartKey } from '../../storage/keys.ts'
import { ociError, isOciError } from '../../oci/errors.ts'
import { StorageError } from '../../storage/engine.ts'
import { createUpload, createUploadIn, advanceUpload, deleteUpload, findSession, findUpload, partNoncesOf, relocateUpload, type Upload } from '../../db/queries/uploads.ts'
import { ensureRepository } from '../../db/queries/repositories.ts'
import type { ResolvedDeps } from '../deps.ts'
import type { Location } from '../locations.ts'
import { countingStream, deleteParts } from './parts.ts'
import { noteFallback, reachableWriteOrder, storageFailure } from './write.ts'
import { replayableBody } from './replayable-body.ts'

export async function openSession(deps: ResolvedDeps, repository: string): Promise<Upload> {
  const [location] = await reachableWriteOrder(deps, repository)
  noteFallback(deps, repository, location)
  const id = crypto.randomUUID()
  // Into an existing repository: one statement. The first push to a repository creates it too.
  const opened = await createUploadIn(deps.db, { id, repository, location: location.id })
  if (opened) return opened
  return deps.db.transaction(async (tx) => {
    const repo = await ensureRepository(tx, repository)
    return createUpload(tx, { id, repositoryId: repo.id, location: location.id })
  })
}

/** The session, if it exists and belongs to the repository named `repository`; else BLOB_UPLOAD_UNKNOWN. */
export async function requireSession(deps: ResolvedDeps, repository: string, id: string): Promise<Upload> {
  const upload = /^[0-9a-f-]{36}$/.test(id) ? await findSession(deps.db, repository, id) : null
  if (!upload) throw ociError('BLOB_UPLOAD_UNKNOWN', { detail: { uuid: id } })
  return upload
}

export function sessionLocation(deps: ResolvedDeps, upload: Upload): Location {
  const location = deps.locations.get(upload.location)
  if (!location) throw ociError('BLOB_UPLOAD_UNKNOWN', { message: 'the upload session\'s location is no longer configured', detail: { uuid: upload.id } })
  return location
}

/**
 * Where the next chunk of `upload` goes. A session without parts moves to a location that takes
 * writes when its own does not (`failed`: it just refused one); one with parts cannot (they are
 * there): 503 until its location is back, or the client starts over.
 */
async function writableSessionLocation(deps: ResolvedDeps, repository: string, upload: Upload, failed: unknown = null): Promise<{ upload: Upload; location: Location }> {
  const location = sessionLocation(deps, upload)
  if (failed === null && deps.locations.isWritable(location.id)) return { upload, location }
  if (upload.parts > 0) {
    throw ociError('UNAVAILABLE', {
      message: 'the upload session\'s storage location does not take writes now and holds its parts: retry later, or start a new upload',
      detail: { uuid: upload.id, location: location.id },
      cause: failed ?? undefined,
    })
  }
  const [next] = await reachableWriteOrder(deps, repository)
  if (next.id === location.id) return { upload, location }
  if (!await relocateUpload(deps.db, upload.id, location.id, next.id)) throw ociError('BLOB_UPLOAD_INVALID', { status: 416, message: 'the upload session changed meanwhile', detail: { uuid: upload.id } })
  deps.log.warn('upload session moved to another location before its first part', { uuid: upload.id, from: location.id, to: next.id })
  noteFallback(deps, repository, next)
  return { upload: { ...upload, location: next.id }, location: next }
}

/** Whether `err` from a put into `location` says the location refused it (try another). */
function refusedBy(location: Location, err: unknown): boolean {
  return err instanceof StorageError && err.location === location.id && err.kind !== 'invalid' && err.kind !== 'aborted'
}

/**
 * Appends one chunk. `start` (from Content-Range) must equal the session's offset, else 416;
 * `length` is the exact byte count when the client declared one. Returns the updated session.
 */
export async function appendChunk(deps: ResolvedDeps, repository: string, upload: Upload, body: ReadableStream<Uint8Array>, declared: { start: number | null; length: number | null }): Promise<Upload> {
  if (declared.start !== null && declared.start !== upload.offset) throw outOfOrder(upload)
  // A declared empty chunk: nothing to store (a part would be written, fsynced and deleted).
  if (declared.length === 0) return upload
  // One chunk at a time per session (the spec has clients upload in order). This set only spares
  // wasted writes in this app; correctness across origins comes from the nonce and advanceUpload.
  const busy = deps.uploadsInProgress
  if (busy.has(upload.id)) throw outOfOrder(upload)
  busy.add(upload.id)
  const replay = replayableBody(body)
  let location = sessionLocation(deps, upload)
  try {
    let current: Upload
    ;({ upload: current, location } = await writableSessionLocation(deps, repository, upload))
    for (;;) {
      const attempt = replay.attempt()
      if (!attempt) throw ociError('UNAVAILABLE', { message: 'storage location does not take writes now, retry', detail: { location: location.id } })
      try {
        return await storeChunk(deps, current, location, attempt, declared.length)
      } catch (err) {
        // Before its first part a session may move: the body goes to the next location.
        if (current.parts > 0 || !refusedBy(location, err)) throw err
        deps.locations.markDown(location.id, err, 'write')
        ;({ upload: current, location } = await writableSessionLocation(deps, repository, current, err))
      }
    }
  } catch (err) {
    await replay.abandon(err)
    if (!isOciError(err)) storageFailure(deps, location, err, { fromClient: true })
    throw err
  } finally {
    busy.delete(upload.id)
  }
}

async function storeChunk(deps: ResolvedDeps, upload: Upload, location: Location, body: ReadableStream<Uint8Array>, length: number | null): Promise<Upload> {
  const cached = deps.hashCache.get(upload.id)
  // Speculatively SHA-256: nearly every digest is one. A failed chunk must not advance it.
  const hasher = cached && cached.offset === upload.offset ? cached.hasher.clone() : upload.offset === 0 ? deps.createHasher('sha256') : null
  const counter = countingStream(length, (chunk) => hasher?.update(chunk))
  const nonce = crypto.randomUUID().slice(0, 8)
  const key = uploadPartKey(upload.id, upload.parts, nonce)
  await location.engine.put(key, body.pipeThrough(counter.stream), { size: length ?? undefined })
  const added = counter.count()
  if (added === 0) {
    await location.engine.delete(key)
    return upload
  }
  let advanced: boolean
  try {
    advanced = await advanceUpload(deps.db, upload.id, upload.offset, upload.parts, added, nonce)
  } catch (err) {
    // The database failed (busy, full, unreachable). The update may still have committed (a
    // reply lost after the commit): delete the part only once the session row is read back and
    // does not name it; if that read fails too, the orphan collector decides later.
    const now = await findUpload(deps.db, upload.id).catch(() => undefined)
    if (now !== undefined && !(now && partNoncesOf(now).includes(nonce))) await location.engine.delete(key).catch(() => undefined)
    throw err
  }
  if (!advanced) {
    // Another PATCH took this offset first: its part has its own key; drop only ours.
    await location.engine.delete(key)
    throw outOfOrder(upload)
  }
  const next = { ...upload, offset: upload.offset + added, parts: upload.parts + 1, partNonces: JSON.stringify([...partNoncesOf(upload), nonce]) }
  if (hasher) deps.hashCache.set(upload.id, { offset: next.offset, hasher })
  return next
}

export async function cancelSession(deps: ResolvedDeps, upload: Upload): Promise<void> {
  await deleteUpload(deps.db, upload.id)
  deps.hashCache.delete(upload.id)
  const location = deps.locations.get(upload.location)
  if (location) await deleteParts(location.engine, upload.id, partNoncesOf(upload))
}

// distribution-spec: "If a chunk is uploaded out of order, the registry MUST respond 416".
export function outOfOrder(upload: Upload) {
  return ociError('BLOB_UPLOAD_INVALID', {
    status: 416,
    message: 'chunk out of order: resume from the offset in the Range header',
    detail: { offset: upload.offset },
    headers: { Range: `0-${Math.max(upload.offset - 1, 0)}`, 'Docker-Upload-UUID': upload.id },
  })
}
