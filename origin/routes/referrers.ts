import { Hono } from 'hono'
import type { OriginEnv } from '../app.ts'
import { findRepository } from '../../db/queries/repositories.ts'
import { listReferrers } from '../../db/queries/manifests.ts'
import { buildReferrersIndex, filterByArtifactType, FILTERS_APPLIED_HEADER } from '../../oci/referrers.ts'
import { apiHeaders, depsOf, digestParam, nameOf } from './context.ts'

export const referrerRoutes = new Hono<OriginEnv>()

// distribution-spec end-12a/12b: always 200 with an image index (never 404), optionally filtered
// by artifactType, saying so in OCI-Filters-Applied.
referrerRoutes.get('/:name{.+}/referrers/:digest', (c) => {
  const deps = depsOf(c)
  const name = nameOf(c)
  const digest = digestParam(c)
  const repo = findRepository(deps.db, name)
  const all = repo ? listReferrers(deps.db, repo.id, digest) : []
  // An empty `?artifactType=` filters nothing (and so must not claim OCI-Filters-Applied).
  const artifactType = c.req.query('artifactType') || null
  const descriptors = filterByArtifactType(all.map((r) => ({
    mediaType: r.mediaType, digest: r.digest, size: r.size,
    ...(r.artifactType ? { artifactType: r.artifactType } : {}),
    ...(r.annotations ? { annotations: r.annotations } : {}),
  })), artifactType)
  const index = buildReferrersIndex(descriptors)
  apiHeaders(c)
  if (artifactType) c.header(FILTERS_APPLIED_HEADER, 'artifactType')
  c.header('Content-Type', index.mediaType)
  return c.body(index.body, 200)
})
