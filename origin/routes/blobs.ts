import { Hono } from 'hono'
import type { OriginEnv } from '../app.ts'
import { ociError } from '../../oci/errors.ts'
import { parseRangeHeader, contentRangeHeader } from '../../oci/range.ts'
import { findRepositoryBlob, unlinkBlob } from '../../db/queries/blobs.ts'
import { openBlob } from '../blob-reader.ts'
import { apiHeaders, depsOf, digestParam, nameOf, requireRepository, type OriginContext } from './context.ts'

export const blobRoutes = new Hono<OriginEnv>()

function linkedBlob(c: OriginContext) {
  const name = nameOf(c)
  const digest = digestParam(c)
  const repo = requireRepository(c, name)
  const blob = findRepositoryBlob(depsOf(c).db, repo.id, digest)
  if (!blob) throw ociError('BLOB_UNKNOWN', { detail: { digest } })
  return { repo, blob }
}

// distribution-spec end-2: GET streams the bytes; Range gives 206 (RFC 9110 §14). Hono sends
// HEAD here too: it is answered from the database alone, without opening the bytes (an opened,
// unread stream would hold a file handle or a storage connection until garbage collection).
blobRoutes.get('/:name{.+}/blobs/:digest', async (c) => {
  const { blob } = linkedBlob(c)
  if (c.req.method === 'HEAD') {
    apiHeaders(c)
    c.header('Content-Length', String(blob.size))
    c.header('Docker-Content-Digest', blob.digest)
    c.header('Accept-Ranges', 'bytes')
    c.header('Content-Type', 'application/octet-stream')
    return c.body(null, 200)
  }
  const range = parseRangeHeader(c.req.header('range') ?? null, blob.size) ?? undefined
  const got = await openBlob(depsOf(c), blob.digest, range)
  apiHeaders(c)
  c.header('Docker-Content-Digest', blob.digest)
  c.header('Accept-Ranges', 'bytes')
  c.header('Content-Type', 'application/octet-stream')
  if (range) {
    c.header('Content-Range', contentRangeHeader(range, blob.size))
    c.header('Content-Length', String(range.end - range.start + 1))
    return c.body(got.body, 206)
  }
  c.header('Content-Length', String(blob.size))
  return c.body(got.body, 200)
})

// distribution-spec end-10: 202 Accepted. The bytes stay until garbage collection.
blobRoutes.delete('/:name{.+}/blobs/:digest', (c) => {
  const deps = depsOf(c)
  if (!deps.deleteEnabled) throw ociError('UNSUPPORTED', { status: 405, message: 'deletes are disabled on this registry' })
  const { repo, blob } = linkedBlob(c)
  unlinkBlob(deps.db, repo, blob.digest)
  apiHeaders(c)
  return c.body(null, 202)
})
