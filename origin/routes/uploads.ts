import { Hono } from 'hono'
import type { OriginEnv } from '../deps.ts'
import { ociError } from '../../oci/errors.ts'
import { isDigest, parseDigest } from '../../oci/digest.ts'
import { isValidName } from '../../oci/names.ts'
import { parseContentRange } from '../../oci/range.ts'
import { findRepository } from '../../db/queries/repositories.ts'
import { commitBlob, findBlob, findRepositoryBlob, mountBlob } from '../../db/queries/blobs.ts'
import type { Upload } from '../../db/queries/uploads.ts'
import { appendChunk, cancelSession, openSession, requireSession } from '../uploads/session.ts'
import { finishUpload, finishWholeUpload } from '../uploads/finalize.ts'
import { writeClientBlob } from '../uploads/write.ts'
import { clientBody } from '../uploads/client-body.ts'
import { apiHeaders, depsOf, nameOf, type OriginContext } from './context.ts'
import { callerOf } from '../../oci/auth/guard.ts'

export const uploadRoutes = new Hono<OriginEnv>()

const EMPTY = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() })

/** The request body, whose read failures are told apart as the client's (uploads/client-body.ts). */
const requestBody = (c: OriginContext) => clientBody(c.req.raw.body ?? EMPTY())

function sessionHeaders(c: OriginContext, name: string, upload: Upload) {
  apiHeaders(c)
  c.header('Location', `/v2/${name}/blobs/uploads/${upload.id}`)
  // distribution-spec: Range is the inclusive range received so far ("0-0" when empty, as
  // distribution/distribution answers).
  c.header('Range', `0-${Math.max(upload.offset - 1, 0)}`)
  c.header('Docker-Upload-UUID', upload.id)
  c.header('Content-Length', '0')
}

function blobCreated(c: OriginContext, name: string, digest: string) {
  apiHeaders(c)
  c.header('Location', `/v2/${name}/blobs/${digest}`)
  c.header('Docker-Content-Digest', digest)
  c.header('Content-Length', '0')
  return c.body(null, 201)
}

/** True when the request carries a body worth storing (a declared zero length does not). */
function hasBody(c: OriginContext): boolean {
  const length = c.req.header('content-length')
  if (length !== undefined) return Number(length) > 0
  return c.req.raw.body !== null && c.req.header('transfer-encoding') !== undefined
}

/** The exact chunk extent the client declared, from Content-Range and/or Content-Length. */
function declaredChunk(c: OriginContext): { start: number | null; length: number | null } {
  const header = c.req.header('content-range')
  const lengthHeader = c.req.header('content-length')
  const length = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null
  if (!header) return { start: null, length }
  const range = parseContentRange(header)
  const rangeLength = range.end - range.start + 1
  if (length !== null && length !== rangeLength) {
    throw ociError('BLOB_UPLOAD_INVALID', { status: 416, message: 'Content-Range and Content-Length disagree', detail: { contentRange: header, contentLength: length } })
  }
  return { start: range.start, length: rangeLength }
}

// distribution-spec end-4a/4b/11: POST opens a session, or uploads whole (?digest=), or mounts.
async function startUpload(c: OriginContext) {
  const deps = depsOf(c)
  const name = nameOf(c)
  const mount = c.req.query('mount')
  // Spec: when the blob cannot be mounted, invalid digest or repository arguments included, the
  // registry falls back to a normal upload session (202).
  if (mount !== undefined && isDigest(mount)) {
    const from = c.req.query('from')
    const source = from !== undefined && isValidName(from) ? await findRepository(deps.db, from) : null
    // Without `from` the blob could come from any repository: with access control on (a guard ran,
    // callerOf is set) that would copy a private blob to whoever knows its digest, so only a mount
    // from a named repository, whose pull the guard has checked, is done; else a plain upload.
    const anywhere = from === undefined && callerOf(c) === null
    const mountable = from !== undefined
      ? source !== null && await findRepositoryBlob(deps.db, source.id, mount) !== null
      : anywhere && await findBlob(deps.db, mount) !== null
    if (mountable && await mountBlob(deps.db, name, mount, deps.replicationTargets) !== null) return blobCreated(c, name, mount)
  }
  const digest = c.req.query('digest')
  if (digest !== undefined) {
    parseDigest(digest)
    const length = c.req.header('content-length')
    const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined
    const stored = await writeClientBlob(deps, name, { digest, size }, requestBody(c))
    await commitBlob(deps.db, { repository: name, digest, size: stored.size, location: stored.location.id, targetsFor: deps.replicationTargets })
    deps.onCommit()
    return blobCreated(c, name, digest)
  }
  const upload = await openSession(deps, name)
  sessionHeaders(c, name, upload)
  return c.body(null, 202)
}

uploadRoutes.post('/:name{.+}/blobs/uploads/', startUpload)
uploadRoutes.post('/:name{.+}/blobs/uploads', startUpload)

async function sessionOf(c: OriginContext) {
  const deps = depsOf(c)
  const name = nameOf(c)
  const upload = await requireSession(deps, name, c.req.param('uuid') ?? '')
  return { deps, name, upload }
}

// distribution-spec end-5: PATCH appends a chunk; with no Content-Range it is a streamed upload.
uploadRoutes.patch('/:name{.+}/blobs/uploads/:uuid', async (c) => {
  const { deps, name, upload } = await sessionOf(c)
  const declared = declaredChunk(c)
  const next = await appendChunk(deps, name, upload, requestBody(c), declared)
  sessionHeaders(c, name, next)
  return c.body(null, 202)
})

// distribution-spec end-6: PUT ?digest= closes the session, with or without a last chunk.
uploadRoutes.put('/:name{.+}/blobs/uploads/:uuid', async (c) => {
  const { deps, name, upload } = await sessionOf(c)
  const digest = c.req.query('digest')
  if (!digest) throw ociError('DIGEST_INVALID', { message: 'digest query parameter is required', detail: { uuid: upload.id } })
  parseDigest(digest)
  let current = upload
  if (hasBody(c)) {
    const declared = declaredChunk(c)
    // The whole blob in the closing PUT ("POST then PUT"): straight to its content key.
    if (upload.parts === 0 && (declared.start ?? 0) === 0 && declared.length !== 0) {
      await finishWholeUpload(deps, name, upload, digest, requestBody(c), declared.length)
      return blobCreated(c, name, digest)
    }
    current = await appendChunk(deps, name, upload, requestBody(c), declared)
  }
  await finishUpload(deps, name, current, digest)
  return blobCreated(c, name, digest)
})

// distribution-spec end-13: GET reports progress with 204 + Range.
uploadRoutes.get('/:name{.+}/blobs/uploads/:uuid', async (c) => {
  const { name, upload } = await sessionOf(c)
  sessionHeaders(c, name, upload)
  return c.body(null, 204)
})

uploadRoutes.delete('/:name{.+}/blobs/uploads/:uuid', async (c) => {
  const { deps, upload } = await sessionOf(c)
  await cancelSession(deps, upload)
  apiHeaders(c)
  return c.body(null, 204)
})
