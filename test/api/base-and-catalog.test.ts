// distribution-spec end-1 (`GET /v2/`) and the `_catalog` listing (distribution's API, paginated
// like tags: `n`, `last`, and a `Link` header to the next page).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { at, nextPage, pushBlob, randomBytes } from '../helpers/registry-client.ts'

let origin: TestOrigin
// This file owns its origin, so the catalog holds exactly these repositories.
const REPOSITORIES = ['alpha', 'beta/app', 'beta/web', 'delta', 'gamma/x/y']

beforeAll(async () => {
  origin = await startTestOrigin()
  for (const name of REPOSITORIES) await pushBlob(origin.url, name, randomBytes(16))
})
afterAll(() => origin?.close())

describe('GET /v2/', () => {
  it('answers 200 with the API version header: the registry implements the spec', async () => {
    const res = await fetch(at(origin.url, '/v2/'))
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0')
    expect(await res.json()).toEqual({})
  })

  it('answers HEAD the same way, without a body', async () => {
    const res = await fetch(at(origin.url, '/v2/'), { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0')
    expect(await res.text()).toBe('')
  })
})

describe('GET /v2/_catalog', () => {
  it('lists every repository in lexical order', async () => {
    const res = await fetch(at(origin.url, '/v2/_catalog'))
    expect(res.status).toBe(200)
    expect(res.headers.get('link')).toBeNull()
    expect(await res.json()).toEqual({ repositories: REPOSITORIES })
  })

  it('pages with n and follows Link rel="next" to the end', async () => {
    const seen: string[] = []
    let next: string | null = '/v2/_catalog?n=2'
    const pages: string[][] = []
    while (next) {
      const res = await fetch(at(origin.url, next))
      expect(res.status).toBe(200)
      const { repositories } = await res.json() as { repositories: string[] }
      pages.push(repositories)
      seen.push(...repositories)
      next = nextPage(res)
    }
    expect(pages).toEqual([['alpha', 'beta/app'], ['beta/web', 'delta'], ['gamma/x/y']])
    expect(seen).toEqual(REPOSITORIES)
  })

  it('starts after `last`, exclusively', async () => {
    const res = await fetch(at(origin.url, '/v2/_catalog?n=2&last=beta/app'))
    expect(await res.json()).toEqual({ repositories: ['beta/web', 'delta'] })
    expect(nextPage(res)).toBe('/v2/_catalog?n=2&last=delta')
  })

  it('accepts `last` alone and returns everything after it', async () => {
    const res = await fetch(at(origin.url, '/v2/_catalog?last=delta'))
    expect(await res.json()).toEqual({ repositories: ['gamma/x/y'] })
    expect(res.headers.get('link')).toBeNull()
  })

  it('sends no Link when the page ends exactly at the last repository', async () => {
    const res = await fetch(at(origin.url, `/v2/_catalog?n=${REPOSITORIES.length}`))
    expect((await res.json() as { repositories: string[] }).repositories).toEqual(REPOSITORIES)
    expect(res.headers.get('link')).toBeNull()
  })

  it('returns an empty list and no Link for n=0', async () => {
    const res = await fetch(at(origin.url, '/v2/_catalog?n=0'))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ repositories: [] })
    expect(res.headers.get('link')).toBeNull()
  })

  it('refuses a non-numeric n with a 400 error body', async () => {
    for (const n of ['abc', '-1', '1.5']) {
      const res = await fetch(at(origin.url, `/v2/_catalog?n=${n}`))
      expect(res.status).toBe(400)
      const body = await res.json() as { errors: { code: string }[] }
      expect(body.errors[0]!.code).toMatch(/^[A-Z_]+$/)
    }
  })

  it('answers an empty registry with an empty list', async () => {
    const empty = await startTestOrigin()
    try {
      const res = await fetch(at(empty.url, '/v2/_catalog'))
      expect(await res.json()).toEqual({ repositories: [] })
    } finally {
      await empty.close()
    }
  })
})

describe('unknown endpoints', () => {
  it('answer 404 with the error JSON shape', async () => {
    const res = await fetch(at(origin.url, '/v2/alpha/nothing-here'))
    expect(res.status).toBe(404)
    const body = await res.json() as { errors: { code: string; message: string }[] }
    expect(body.errors[0]!.code).toMatch(/^[A-Z_]+$/)
  })
})
