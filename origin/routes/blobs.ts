import { Hono } from 'hono'
import type { OriginEnv } from '../deps.ts'
import { ociError } from '../../oci/errors.ts'
import { findRepositoryBlob, unlinkBlob } from '../../db/queries/blobs.ts'
import { apiHeaders, depsOf, digestParam, nameOf, requireRepository, type OriginContext } from './context.ts'

export const blobRoutes = new Hono<OriginEnv>()

async function linkedBlob(c: OriginContext) {
  const name = nameOf(c)
  const digest = digestParam(c)
  const repo = await requireRepository(c, name)
  const blob = await findRepositoryBlob(depsOf(c).db, repo.id, digest)
  if (!blob) throw ociError('BLOB_UNKNOWN', { detail: { digest } })
  return { repo, blob }
}

// distribution-spec end-10: 202 Accepted. The bytes stay until garbage collection.
blobRoutes.delete('/:name{.+}/blobs/:digest', async (c) => {
  const deps = depsOf(c)
  if (!deps.deleteEnabled) throw ociError('UNSUPPORTED', { status: 405, message: 'deletes are disabled on this registry' })
  const { repo, blob } = await linkedBlob(c)
  // The unlink and its change-log entry commit together (ARCHITECTURE §5: the log never disagrees).
  await deps.db.transaction((tx) => unlinkBlob(tx, repo, blob.digest))
  apiHeaders(c)
  return c.body(null, 202)
})
