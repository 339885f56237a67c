// HEAD answers from the database: it never opens the bytes (which would leave a file handle or a
// storage connection open until garbage collection).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { pushBlob, randomBytes, uniqueName } from '../helpers/registry-client.ts'

describe('HEAD requests', () => {
  let origin: TestOrigin
  let gets = 0
  beforeAll(async () => {
    // No replication: the worker's reads would count too.
    origin = await startTestOrigin({ edit: (c) => ({ ...c, replication: { ...c.replication, enabled: false } }) })
    // Count engine reads behind the origin's back: wrap every location's get.
    for (const location of origin.locations.all()) {
      const get = location.engine.get.bind(location.engine)
      location.engine.get = (key, options) => { gets++; return get(key, options) }
    }
  })
  afterAll(async () => { await origin?.close() })

  it('answers HEAD of a blob with its headers and never reads its bytes', async () => {
    const name = uniqueName('head')
    const blob = await pushBlob(origin.url, name, randomBytes(3 * 1024 * 1024))
    const before = gets
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${origin.url}/v2/${name}/blobs/${blob.digest}`, { method: 'HEAD' })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-length')).toBe(String(3 * 1024 * 1024))
      expect(res.headers.get('docker-content-digest')).toBe(blob.digest)
    }
    expect(gets - before).toBe(0)
    const got = await fetch(`${origin.url}/v2/${name}/blobs/${blob.digest}`)
    expect((await got.arrayBuffer()).byteLength).toBe(3 * 1024 * 1024)
    expect(gets - before).toBe(1)
  })
})

