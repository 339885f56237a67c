// Blob bytes from local disk go out through origin/send-file.ts: whole, ranged, and with clients
// that hang up half way (no descriptor may stay open).

import { readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { pushBlob, randomBytes, sha256, uniqueName } from '../helpers/registry-client.ts'

const openDescriptors = () => readdirSync('/proc/self/fd').length

describe('blob downloads from local disk', () => {
  let origin: TestOrigin
  const name = uniqueName('dl')
  const bytes = randomBytes(9 * 1024 * 1024 + 123)
  let digest: string
  beforeAll(async () => {
    origin = await startTestOrigin({ edit: (c) => ({ ...c, replication: { ...c.replication, enabled: false } }) })
    digest = (await pushBlob(origin.url, name, bytes)).digest
  })
  afterAll(async () => { await origin?.close() })

  it('sends the whole blob, byte for byte, across chunk boundaries', async () => {
    const res = await fetch(`${origin.url}/v2/${name}/blobs/${digest}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(bytes.byteLength))
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(digest)
  })

  it('sends a range that spans two read chunks', async () => {
    const start = 1024 * 1024 - 10
    const end = 3 * 1024 * 1024 + 5
    const res = await fetch(`${origin.url}/v2/${name}/blobs/${digest}`, { headers: { Range: `bytes=${start}-${end}` } })
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${bytes.byteLength}`)
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes.subarray(start, end + 1)))).toBe(true)
  })

  it('closes the file when clients hang up mid-download, and keeps serving', async () => {
    const before = openDescriptors()
    for (let i = 0; i < 20; i++) {
      const controller = new AbortController()
      const res = await fetch(`${origin.url}/v2/${name}/blobs/${digest}`, { signal: controller.signal })
      const reader = res.body!.getReader()
      await reader.read()
      controller.abort()
      await reader.cancel().catch(() => {})
    }
    await expect.poll(openDescriptors, { timeout: 5000 }).toBeLessThanOrEqual(before + 2)
    const res = await fetch(`${origin.url}/v2/${name}/blobs/${digest}`)
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(digest)
  })
})
