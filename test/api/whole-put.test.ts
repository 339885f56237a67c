// A PUT carrying a session's whole blob ("POST then PUT") is stored straight under its content key
// (origin/uploads/finalize.ts finishWholeUpload): what it leaves behind when it fails (a wrong
// digest, a wrong length, a client gone mid-body) and where it lands when the session's location
// stopped taking writes.

import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { fsLocation, presentMap } from '../helpers/replication.ts'
import { at, bytesOf, expectOciError, openUpload, randomBytes, sha256, uniqueName } from '../helpers/registry-client.ts'
import { blobKey } from '../../storage/keys.ts'
import { jobsOf } from '../../db/queries/replication.ts'

let origin: TestOrigin
beforeAll(async () => {
  origin = await startTestOrigin({
    edit: (c) => ({
      ...c,
      locations: [fsLocation(c, 'a'), fsLocation(c, 'b')],
      preference: ['a', 'b'],
      // Jobs are queued, none run (no worker in this process): what a push queued stays visible.
      replication: { ...c.replication, enabled: true, workerInProcess: false },
    }),
  })
})
afterAll(() => origin?.close())

const withDigest = (upload: string, digest: string) => `${upload}${upload.includes('?') ? '&' : '?'}digest=${digest}`

/** Whether any location holds bytes under the content key of `digest`. */
async function storedAnywhere(digest: string): Promise<string[]> {
  const out: string[] = []
  for (const id of ['a', 'b']) if (await origin.locations.get(id)!.engine.stat(blobKey(digest))) out.push(id)
  return out
}

/** A PUT that declares `contentLength` bytes, sends fewer, then drops the connection. */
function sendTruncated(url: string, contentLength: number, send: Uint8Array): Promise<void> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname, () => {
      socket.write(`PUT ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${contentLength}\r\n\r\n`)
      socket.write(send, () => setTimeout(() => { socket.destroy(); resolve() }, 50))
    })
    socket.on('error', reject)
  })
}

describe('a PUT carrying the whole blob', () => {
  it('with a wrong digest: 400 DIGEST_INVALID, nothing under either key, the session still open at 0', async () => {
    const name = uniqueName('whole')
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(100_000)
    const wrong = sha256(randomBytes(10))
    await expectOciError(await fetch(withDigest(upload, wrong), { method: 'PUT', body: bytes }), 'DIGEST_INVALID', 400)
    expect(await storedAnywhere(wrong)).toEqual([])
    expect(await storedAnywhere(sha256(bytes))).toEqual([])
    const status = await fetch(upload)
    expect(status.status).toBe(204)
    expect(status.headers.get('range')).toBe('0-0')
    expect((await fetch(withDigest(upload, sha256(bytes)), { method: 'PUT', body: bytes })).status).toBe(201)
    expect(await bytesOf(await fetch(at(origin.url, `/v2/${name}/blobs/${sha256(bytes)}`)))).toEqual(bytes)
  })

  it('longer than its Content-Range: refused as the client\'s, nothing stored, the location still healthy', async () => {
    const name = uniqueName('whole')
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(3000)
    const res = await fetch(withDigest(upload, sha256(bytes)), {
      method: 'PUT', headers: { 'Content-Range': '0-999' }, body: new Blob([bytes]).stream(), duplex: 'half',
    } as RequestInit)
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    expect((await res.json()).errors[0].code).toMatch(/SIZE_INVALID|BLOB_UPLOAD_INVALID|DIGEST_INVALID/)
    expect(await storedAnywhere(sha256(bytes))).toEqual([])
    expect(origin.locations.isWritable('a')).toBe(true)
  })

  it('cut short by the client: nothing under the content key, the session usable again, the location healthy', async () => {
    const name = uniqueName('whole')
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(5000)
    await sendTruncated(withDigest(upload, sha256(bytes)), bytes.byteLength, bytes.subarray(0, 1000))
    let res = await fetch(withDigest(upload, sha256(bytes)), { method: 'PUT', body: bytes })
    // The server notices the drop asynchronously; until then the session is busy (416).
    for (let i = 0; i < 50 && res.status === 416; i++) {
      await new Promise((r) => setTimeout(r, 20))
      res = await fetch(withDigest(upload, sha256(bytes)), { method: 'PUT', body: bytes })
    }
    expect(res.status, await res.clone().text()).toBe(201)
    expect(origin.locations.isWritable('a')).toBe(true)
    expect(await storedAnywhere(sha256(bytes))).toEqual(['a'])
  })

  it('lands in the next location when the session\'s own stopped taking writes, and queues its copy back', async () => {
    const name = uniqueName('whole')
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(4000)
    // Last in this file: a location marked down stays down for writes for a few seconds.
    origin.locations.markDown('a', new Error('test: a refuses writes'), 'write')
    const res = await fetch(withDigest(upload, sha256(bytes)), { method: 'PUT', body: bytes })
    expect(res.status, await res.clone().text()).toBe(201)
    expect(await storedAnywhere(sha256(bytes))).toEqual(['b'])
    expect([...(await presentMap(origin.db)).get(sha256(bytes))!]).toEqual(['b'])
    expect((await jobsOf(origin.db, sha256(bytes))).map((j) => [j.location, j.state])).toEqual([['a', 'pending']])
  })
})
