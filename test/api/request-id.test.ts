// Every answer carries X-Request-Id: the client's own (at most 64 characters), or a fresh one. The
// origin sets it on the finished answer in place and reads it from Node's parsed headers (origin/
// app.ts, for the read path's speed), so it is checked over real HTTP, on every kind of answer.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { pushBlob, pushImage, randomBytes, uniqueName } from '../helpers/registry-client.ts'

describe('X-Request-Id', () => {
  let origin: TestOrigin
  let name: string
  let layer: string
  beforeAll(async () => {
    origin = await startTestOrigin({ edit: (c) => ({ ...c, replication: { ...c.replication, enabled: false } }) })
    name = uniqueName('request-id')
    await pushImage(origin.url, name, 'v1')
    layer = (await pushBlob(origin.url, name, randomBytes(100_000))).digest
  })
  afterAll(async () => { await origin?.close() })

  const answers = () => [
    ['manifest GET', 'GET', `/v2/${name}/manifests/v1`, 200],
    ['manifest HEAD', 'HEAD', `/v2/${name}/manifests/v1`, 200],
    ['blob GET (bytes from a local file)', 'GET', `/v2/${name}/blobs/${layer}`, 200],
    ['blob HEAD', 'HEAD', `/v2/${name}/blobs/${layer}`, 200],
    ['unknown tag', 'GET', `/v2/${name}/manifests/nope`, 404],
    ['unknown path', 'GET', '/v3/nothing', 404],
    ['base', 'GET', '/v2/', 200],
  ] as const

  it('echoes the client\'s X-Request-Id on every kind of answer', async () => {
    for (const [what, method, path, status] of answers()) {
      const res = await fetch(origin.url + path, { method, headers: { 'X-Request-Id': `client-${what}` } })
      await res.arrayBuffer()
      expect(res.status, what).toBe(status)
      expect(res.headers.get('x-request-id'), what).toBe(`client-${what}`)
    }
  })

  it('makes up a different id for each request that brings none', async () => {
    const ids = new Set<string>()
    for (const [what, method, path] of answers()) {
      const res = await fetch(origin.url + path, { method })
      await res.arrayBuffer()
      expect(res.headers.get('x-request-id'), what).toMatch(/^[0-9a-f-]{36}$/)
      ids.add(res.headers.get('x-request-id')!)
    }
    expect(ids.size).toBe(answers().length)
  })

  it('keeps only the first 64 characters of a long id', async () => {
    const res = await fetch(`${origin.url}/v2/${name}/manifests/v1`, { method: 'HEAD', headers: { 'X-Request-Id': 'r'.repeat(500) } })
    expect(res.headers.get('x-request-id')).toBe('r'.repeat(64))
  })
})
