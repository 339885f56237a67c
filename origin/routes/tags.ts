import { Hono } from 'hono'
import type { OriginEnv } from '../app.ts'
import { listTags } from '../../db/queries/manifests.ts'
import { apiHeaders, depsOf, nameOf, nextLink, pageOf, requireRepository } from './context.ts'

export const tagRoutes = new Hono<OriginEnv>()

// distribution-spec end-8a/8b: tags in lexical order, `n` and `last`, Link to the next page.
tagRoutes.get('/:name{.+}/tags/list', (c) => {
  const name = nameOf(c)
  const repo = requireRepository(c, name)
  const { n, last } = pageOf(c)
  const tags = n === 0 ? [] : listTags(depsOf(c).db, repo.id, { n: n + 1, last })
  const page = tags.slice(0, n)
  apiHeaders(c)
  if (tags.length > n) c.header('Link', nextLink(`/v2/${name}/tags/list`, n, page[page.length - 1]))
  return c.json({ name, tags: page })
})
