import { describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { createMatchCachingRouter } from './match-cache.ts'

function app(size: number) {
  const a = new Hono({ router: createMatchCachingRouter(size) })
  a.get('/v2/:name{.+}/manifests/:reference', (c) => c.json({ route: 'manifest', name: c.req.param('name'), reference: c.req.param('reference') }))
  a.get('/v2/:name{.+}/blobs/:digest', (c) => c.json({ route: 'blob', name: c.req.param('name'), digest: c.req.param('digest') }))
  a.delete('/v2/:name{.+}/blobs/:digest', (c) => c.json({ route: 'delete blob' }))
  return a
}

describe('router with remembered matches', () => {
  it('answers a repeated path with the same route and parameters as the first time', async () => {
    const a = app(8)
    for (let i = 0; i < 3; i++) {
      expect(await (await a.request('/v2/org/blobs/x/manifests/latest')).json()).toEqual({ route: 'manifest', name: 'org/blobs/x', reference: 'latest' })
    }
  })

  it('keeps methods apart on one path', async () => {
    const a = app(8)
    expect(await (await a.request('/v2/a/blobs/d')).json()).toEqual({ route: 'blob', name: 'a', digest: 'd' })
    expect(await (await a.request('/v2/a/blobs/d', { method: 'DELETE' })).json()).toEqual({ route: 'delete blob' })
    expect((await a.request('/v2/a/blobs/d', { method: 'PUT' })).status).toBe(404)
  })

  it('still matches right after more distinct paths than it remembers', async () => {
    const a = app(4)
    for (let i = 0; i < 20; i++) {
      expect(await (await a.request(`/v2/r${i}/manifests/t${i}`)).json()).toEqual({ route: 'manifest', name: `r${i}`, reference: `t${i}` })
    }
    expect(await (await a.request('/v2/r0/manifests/t0')).json()).toEqual({ route: 'manifest', name: 'r0', reference: 't0' })
  })
})
