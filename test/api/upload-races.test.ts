// Two origins on one database and one location, two requests for the same offset of one session
// (two PATCHes, or a PATCH and a PUT carrying the whole blob): one wins, the other gets 416, and
// the winner's bytes are what the blob becomes.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { at, openUpload, randomBytes, sha256, uniqueName } from '../helpers/registry-client.ts'

/**
 * `bytes` as a request body: the first piece at once (so the request reaches the origin now; a
 * client sends nothing before its first body chunk), the rest trickling out over `ms`.
 */
function slowBody(bytes: Uint8Array, ms: number): ReadableStream<Uint8Array> {
  const pieces = 8
  const size = Math.ceil(bytes.byteLength / pieces)
  let i = 1
  return new ReadableStream({
    start(c) {
      c.enqueue(bytes.subarray(0, size))
    },
    async pull(c) {
      if (i >= pieces) return c.close()
      await new Promise((r) => setTimeout(r, ms / pieces))
      c.enqueue(bytes.subarray(i * size, (i + 1) * size))
      i++
    },
  })
}

describe('two PATCHes racing for one offset', () => {
  let dataDir: string
  let a: TestOrigin
  let b: TestOrigin
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'meridian-race-'))
    const noReplication = (c: TestOrigin['config']) => ({ ...c, replication: { ...c.replication, enabled: false } })
    a = await startTestOrigin({ dataDir, edit: noReplication })
    b = await startTestOrigin({ dataDir, edit: noReplication })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('keeps the winner\'s part whole when the loser finishes later, on another origin', async () => {
    const name = uniqueName('race')
    // The session's path: each PATCH below goes to its own origin.
    const opened = new URL(await openUpload(a.url, name), a.url)
    const location = `${opened.pathname}${opened.search}`
    const fast = randomBytes(256 * 1024)
    const slow = randomBytes(256 * 1024)
    const patch = (origin: TestOrigin, bytes: Uint8Array, ms: number) => fetch(at(origin.url, location), {
      method: 'PATCH',
      headers: { 'Content-Range': `0-${bytes.byteLength - 1}`, 'Content-Length': String(bytes.byteLength), 'Content-Type': 'application/octet-stream' },
      body: slowBody(bytes, ms),
      duplex: 'half',
    } as RequestInit)
    const [won, lost] = await Promise.all([patch(a, fast, 200), patch(b, slow, 800)])
    expect(won.status).toBe(202)
    expect(lost.status).toBe(416)
    const done = await fetch(at(b.url, `${location}${location.includes('?') ? '&' : '?'}digest=${sha256(fast)}`), { method: 'PUT' })
    expect(done.status, await done.text()).toBe(201)
    const got = await fetch(`${a.url}/v2/${name}/blobs/${sha256(fast)}`)
    expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(sha256(fast))
  })

  it('answers 416 to a PUT carrying the whole blob when a PATCH on another origin got in first, and keeps the PATCH\'s bytes', async () => {
    const name = uniqueName('race')
    const opened = new URL(await openUpload(a.url, name), a.url)
    const location = `${opened.pathname}${opened.search}`
    const chunk = randomBytes(256 * 1024)
    const whole = randomBytes(256 * 1024)
    const withDigest = (digest: string) => `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`
    const send = (url: string, method: string, bytes: Uint8Array, ms: number) => fetch(url, {
      method,
      headers: { 'Content-Length': String(bytes.byteLength), 'Content-Type': 'application/octet-stream' },
      body: slowBody(bytes, ms),
      duplex: 'half',
    } as RequestInit)
    const [patched, put] = await Promise.all([send(at(a.url, location), 'PATCH', chunk, 200), send(at(b.url, withDigest(sha256(whole))), 'PUT', whole, 800)])
    expect(patched.status).toBe(202)
    expect(put.status).toBe(416)
    expect(put.headers.get('range')).toBe(`0-${chunk.byteLength - 1}`)
    // Nothing of the PUT was committed: its blob is unknown, and the session closes on the PATCH's bytes.
    expect((await fetch(`${a.url}/v2/${name}/blobs/${sha256(whole)}`, { method: 'HEAD' })).status).toBe(404)
    const done = await fetch(at(b.url, withDigest(sha256(chunk))), { method: 'PUT' })
    expect(done.status, await done.text()).toBe(201)
    const got = await fetch(`${a.url}/v2/${name}/blobs/${sha256(chunk)}`)
    expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(sha256(chunk))
  })

  it('stores a PUT that carries the whole blob with no part left behind and the session closed', async () => {
    const name = uniqueName('whole')
    const opened = new URL(await openUpload(a.url, name), a.url)
    const bytes = randomBytes(64 * 1024)
    const put = await fetch(at(b.url, `${opened.pathname}${opened.search}${opened.search ? '&' : '?'}digest=${sha256(bytes)}`), {
      method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes,
    })
    expect(put.status, await put.text()).toBe(201)
    const id = opened.pathname.split('/').pop()!
    for (const location of a.locations.writeOrder()) expect((await location.engine.list(`uploads/${id}/`)).keys).toEqual([])
    expect((await fetch(at(a.url, opened.pathname))).status).toBe(404)
    const got = await fetch(`${a.url}/v2/${name}/blobs/${sha256(bytes)}`)
    expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(sha256(bytes))
  })
})
