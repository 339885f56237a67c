import { Hono } from 'hono'
import type { OriginEnv } from '../app.ts'
import { listRepositories } from '../../db/queries/repositories.ts'
import { apiHeaders, depsOf, nextLink, pageOf } from './context.ts'

export const catalogRoutes = new Hono<OriginEnv>()

// distribution (not the OCI spec) catalog API, paginated like tags: n, last, Link.
catalogRoutes.get('/_catalog', (c) => {
  const { n, last } = pageOf(c)
  const names = n === 0 ? [] : listRepositories(depsOf(c).db, { n: n + 1, last })
  const page = names.slice(0, n)
  apiHeaders(c)
  if (names.length > n) c.header('Link', nextLink('/v2/_catalog', n, page[page.length - 1]))
  return c.json({ repositories: page })
})
