import { Hono } from 'hono'
import type { OriginEnv } from '../deps.ts'
import { ociError } from '../../oci/errors.ts'
import { findRepositoryBlob, unlinkBlob } from '../../db/queries/blobs.ts'
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

// distribution-spec end-10: 202 Accepted. The bytes stay until garbage collection.
blobRoutes.delete('/:name{.+}/blobs/:digest', (c) => {
  const deps = depsOf(c)
  if (!deps.deleteEnabled) throw ociError('UNSUPPORTED', { status: 405, message: 'deletes are disabled on this registry' })
  const { repo, blob } = linkedBlob(c)
  unlinkBlob(deps.db, repo, blob.digest)
  apiHeaders(c)
  return c.body(null, 202)
})
