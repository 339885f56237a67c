import { Hono } from 'hono'
import type { OriginEnv } from '../app.ts'

export const baseRoutes = new Hono<OriginEnv>()

// distribution-spec end-1: 200 means the registry implements the spec.
baseRoutes.get('/', (c) => {
  c.header('Docker-Distribution-API-Version', 'registry/2.0')
  return c.json({})
})
