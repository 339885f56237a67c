// distribution-spec "Pushing blobs": monolithic POST ?digest= (end-4b), sessions (end-4a) closed
// by PUT (end-6), progress (end-13), cancel, digests that do not match, and upload ids that do not
// belong to the repository. Chunks are in chunked-uploads.test.ts, mounts in blob-mounts.test.ts.

import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import {
  at, bytesOf, closeUpload, expectOciError, openUpload, patchChunk, pushBlob, randomBytes, sha256, sha512, streamOf, uniqueName,
} from '../helpers/registry-client.ts'

let origin: TestOrigin
beforeAll(async () => { origin = await startTestOrigin() })
afterAll(() => origin?.close())

const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

async function readBlob(name: string, digest: string): Promise<Response> {
  return fetch(at(origin.url, `/v2/${name}/blobs/${digest}`))
}

async function expectBlob(name: string, digest: string, bytes: Uint8Array): Promise<void> {
  const res = await readBlob(name, digest)
  expect(res.status).toBe(200)
  expect(res.headers.get('docker-content-digest')).toBe(digest)
  expect(await bytesOf(res)).toEqual(bytes)
}

function postMonolithic(name: string, digest: string, body: BodyInit | null): Promise<Response> {
  const init: RequestInit & { duplex?: 'half' } = { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body }
  if (body instanceof ReadableStream) init.duplex = 'half'
  return fetch(at(origin.url, `/v2/${name}/blobs/uploads/?digest=${encodeURIComponent(digest)}`), init)
}

describe('monolithic upload (POST ?digest=)', () => {
  it('answers 201 with Location and Docker-Content-Digest, and the blob is readable there', async () => {
    const name = uniqueName()
    const bytes = randomBytes(4096)
    const digest = sha256(bytes)
    const res = await postMonolithic(name, digest, bytes)
    expect(res.status).toBe(201)
    expect(res.headers.get('location')).toBe(`/v2/${name}/blobs/${digest}`)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    const fromLocation = await fetch(at(origin.url, res.headers.get('location')!))
    expect(await bytesOf(fromLocation)).toEqual(bytes)
  })

  it('accepts a streamed body without Content-Length', async () => {
    const name = uniqueName()
    const a = randomBytes(1000)
    const b = randomBytes(3000)
    const whole = new Uint8Array([...a, ...b])
    const res = await postMonolithic(name, sha256(whole), streamOf(a, b))
    expect(res.status).toBe(201)
    await expectBlob(name, sha256(whole), whole)
  })

  it('stores sha512 blobs under their sha512 digest', async () => {
    const name = uniqueName()
    const bytes = randomBytes(777)
    const digest = sha512(bytes)
    const res = await postMonolithic(name, digest, bytes)
    expect(res.status).toBe(201)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    await expectBlob(name, digest, bytes)
  })

  it('stores the empty blob', async () => {
    const name = uniqueName()
    expect(sha256(new Uint8Array(0))).toBe(EMPTY_SHA256)
    const res = await postMonolithic(name, EMPTY_SHA256, new Uint8Array(0))
    expect(res.status).toBe(201)
    const got = await readBlob(name, EMPTY_SHA256)
    expect(got.status).toBe(200)
    expect(got.headers.get('content-length')).toBe('0')
    expect((await bytesOf(got)).byteLength).toBe(0)
  })

  it('is idempotent: pushing the same blob twice answers 201 both times', async () => {
    const name = uniqueName()
    const bytes = randomBytes(100)
    await pushBlob(origin.url, name, bytes)
    await pushBlob(origin.url, name, bytes)
    await expectBlob(name, sha256(bytes), bytes)
  })

  it('refuses bytes that do not match the digest with 400 DIGEST_INVALID, storing nothing', async () => {
    const name = uniqueName()
    const bytes = randomBytes(500)
    const claimed = sha256(randomBytes(500))
    await expectOciError(await postMonolithic(name, claimed, bytes), 'DIGEST_INVALID', 400)
    expect((await readBlob(name, claimed)).status).toBe(404)
    expect((await readBlob(name, sha256(bytes))).status).toBe(404)
  })

  it('refuses a malformed digest parameter with 400 DIGEST_INVALID', async () => {
    const name = uniqueName()
    for (const digest of ['sha256:xyz', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'nonsense', '']) {
      await expectOciError(await postMonolithic(name, digest, randomBytes(10)), 'DIGEST_INVALID', 400)
    }
  })
})

describe('upload sessions', () => {
  it('POST opens a session: 202, Location, Range 0-0 and Docker-Upload-UUID', async () => {
    const name = uniqueName()
    const res = await fetch(at(origin.url, `/v2/${name}/blobs/uploads/`), { method: 'POST' })
    expect(res.status).toBe(202)
    const location = res.headers.get('location')!
    const uuid = res.headers.get('docker-upload-uuid')!
    expect(uuid).toBeTruthy()
    expect(location).toBe(`/v2/${name}/blobs/uploads/${uuid}`)
    expect(res.headers.get('range')).toBe('0-0')
  })

  it('every session gets its own id', async () => {
    const name = uniqueName()
    const ids = new Set(await Promise.all([1, 2, 3].map(() => openUpload(origin.url, name))))
    expect(ids.size).toBe(3)
  })

  it('PUT ?digest= with the whole body closes the session: 201, Location, Docker-Content-Digest', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(2048)
    const digest = sha256(bytes)
    const res = await closeUpload(upload, digest, bytes)
    expect(res.status).toBe(201)
    expect(res.headers.get('location')).toBe(`/v2/${name}/blobs/${digest}`)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    await expectBlob(name, digest, bytes)
  })

  it('PUT ?digest= without a body closes a session whose bytes were PATCHed', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(1500)
    expect((await patchChunk(upload, bytes, 0)).status).toBe(202)
    const res = await closeUpload(upload, sha256(bytes))
    expect(res.status).toBe(201)
    await expectBlob(name, sha256(bytes), bytes)
  })

  it('PUT without any bytes stores the empty blob', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    expect((await closeUpload(upload, EMPTY_SHA256)).status).toBe(201)
    expect(await bytesOf(await readBlob(name, EMPTY_SHA256))).toEqual(new Uint8Array(0))
  })

  it('closes with a sha512 digest', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(3000)
    expect((await patchChunk(upload, bytes.subarray(0, 1000), 0)).status).toBe(202)
    const res = await closeUpload(upload, sha512(bytes), bytes.subarray(1000))
    expect(res.status).toBe(201)
    expect(res.headers.get('docker-content-digest')).toBe(sha512(bytes))
    await expectBlob(name, sha512(bytes), bytes)
  })

  it('a blob the repository already has may be uploaded again through a session', async () => {
    const name = uniqueName()
    const bytes = randomBytes(700)
    await pushBlob(origin.url, name, bytes)
    const upload = await openUpload(origin.url, name)
    expect((await patchChunk(upload, bytes, 0)).status).toBe(202)
    expect((await closeUpload(upload, sha256(bytes))).status).toBe(201)
    await expectBlob(name, sha256(bytes), bytes)
  })

  it('concurrent sessions uploading the same blob all succeed', async () => {
    const names = [uniqueName(), uniqueName(), uniqueName()]
    const bytes = randomBytes(50_000)
    const results = await Promise.all(names.map(async (name) => {
      const upload = await openUpload(origin.url, name)
      await patchChunk(upload, bytes, 0)
      return (await closeUpload(upload, sha256(bytes))).status
    }))
    expect(results).toEqual([201, 201, 201])
    for (const name of names) await expectBlob(name, sha256(bytes), bytes)
  })

  it('GET reports progress with 204, Range and Location', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    await patchChunk(upload, randomBytes(10), 0)
    const res = await fetch(upload)
    expect(res.status).toBe(204)
    expect(res.headers.get('range')).toBe('0-9')
    expect(at(origin.url, res.headers.get('location')!)).toBe(upload)
    expect(res.headers.get('docker-upload-uuid')).toBe(upload.split('/').pop())
  })

  it('DELETE cancels the session; afterwards it is BLOB_UPLOAD_UNKNOWN', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    await patchChunk(upload, randomBytes(10), 0)
    expect((await fetch(upload, { method: 'DELETE' })).status).toBe(204)
    await expectOciError(await fetch(upload), 'BLOB_UPLOAD_UNKNOWN', 404)
    await expectOciError(await patchChunk(upload, randomBytes(10), 10), 'BLOB_UPLOAD_UNKNOWN', 404)
    await expectOciError(await closeUpload(upload, sha256(randomBytes(1))), 'BLOB_UPLOAD_UNKNOWN', 404)
    await expectOciError(await fetch(upload, { method: 'DELETE' }), 'BLOB_UPLOAD_UNKNOWN', 404)
  })

  it('a closed session is gone: reusing its URL answers BLOB_UPLOAD_UNKNOWN', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(64)
    expect((await closeUpload(upload, sha256(bytes), bytes)).status).toBe(201)
    await expectOciError(await fetch(upload), 'BLOB_UPLOAD_UNKNOWN', 404)
  })

  it('a digest that does not match the uploaded bytes is 400 DIGEST_INVALID and nothing is readable', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(2000)
    await patchChunk(upload, bytes, 0)
    const wrong = sha256(randomBytes(2000))
    await expectOciError(await closeUpload(upload, wrong), 'DIGEST_INVALID', 400)
    expect((await readBlob(name, wrong)).status).toBe(404)
    expect((await readBlob(name, sha256(bytes))).status).toBe(404)
  })

  it('a wrong sha512 digest is refused as well (the bytes are re-read to check it)', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    await patchChunk(upload, randomBytes(300), 0)
    const wrong = sha512(randomBytes(300))
    await expectOciError(await closeUpload(upload, wrong), 'DIGEST_INVALID', 400)
    expect((await readBlob(name, wrong)).status).toBe(404)
  })

  it('PUT without a digest, or with a malformed one, is 400 DIGEST_INVALID', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    await expectOciError(await fetch(upload, { method: 'PUT' }), 'DIGEST_INVALID', 400)
    await expectOciError(await closeUpload(upload, 'sha256:xyz'), 'DIGEST_INVALID', 400)
    await expectOciError(await closeUpload(upload, 'md5:d41d8cd98f00b204e9800998ecf8427e'), 'DIGEST_INVALID', 400)
  })
})

describe('upload ids the repository does not own', () => {
  it('an unknown uuid is 404 BLOB_UPLOAD_UNKNOWN for GET, PATCH, PUT and DELETE', async () => {
    const name = uniqueName()
    await openUpload(origin.url, name)
    for (const id of [crypto.randomUUID(), 'not-a-uuid']) {
      const upload = at(origin.url, `/v2/${name}/blobs/uploads/${id}`)
      await expectOciError(await fetch(upload), 'BLOB_UPLOAD_UNKNOWN', 404)
      await expectOciError(await patchChunk(upload, randomBytes(4), 0), 'BLOB_UPLOAD_UNKNOWN', 404)
      await expectOciError(await closeUpload(upload, sha256(randomBytes(4)), randomBytes(4)), 'BLOB_UPLOAD_UNKNOWN', 404)
      await expectOciError(await fetch(upload, { method: 'DELETE' }), 'BLOB_UPLOAD_UNKNOWN', 404)
    }
  })

  it('a session opened for one repository is unknown under another name', async () => {
    const owner = uniqueName()
    const other = uniqueName()
    await pushBlob(origin.url, other, randomBytes(8))
    const upload = await openUpload(origin.url, owner)
    const id = upload.split('/').pop()!
    for (const name of [other, uniqueName('never-pushed')]) {
      const foreign = at(origin.url, `/v2/${name}/blobs/uploads/${id}`)
      await expectOciError(await fetch(foreign), 'BLOB_UPLOAD_UNKNOWN', 404)
      await expectOciError(await patchChunk(foreign, randomBytes(4), 0), 'BLOB_UPLOAD_UNKNOWN', 404)
      await expectOciError(await fetch(foreign, { method: 'DELETE' }), 'BLOB_UPLOAD_UNKNOWN', 404)
    }
    // The owner's session is untouched by the attempts.
    const status = await fetch(upload)
    expect(status.status).toBe(204)
    expect(status.headers.get('range')).toBe('0-0')
  })
})

describe('lengths that do not add up', () => {
  it('a Content-Range that disagrees with Content-Length is refused and stores nothing', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const res = await fetch(upload, { method: 'PATCH', headers: { 'Content-Range': '0-19' }, body: randomBytes(10) })
    expect(res.status).toBe(416)
    expect((await fetch(upload)).headers.get('range')).toBe('0-0')
  })

  it('a chunk cut short of its Content-Length (client gone) does not advance the session', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const first = randomBytes(32)
    expect((await patchChunk(upload, first, 0)).status).toBe(202)
    await sendTruncated(upload, { contentLength: 1000, send: randomBytes(400) })
    // The server notices the drop asynchronously; until then the session is busy (416). The
    // client then resumes from the last offset it was given, 32.
    const rest = randomBytes(64)
    let res = await patchChunk(upload, rest, 32)
    for (let i = 0; i < 50 && res.status === 416; i++) {
      await new Promise((r) => setTimeout(r, 20))
      res = await patchChunk(upload, rest, 32)
    }
    expect(res.status).toBe(202)
    expect(res.headers.get('range')).toBe('0-95')
    const whole = new Uint8Array([...first, ...rest])
    expect((await closeUpload(upload, sha256(whole))).status).toBe(201)
    await expectBlob(name, sha256(whole), whole)
  })
})

describe('clients that go away', () => {
  it('a dropped PATCH or monolithic POST is not blamed on storage: the preferred location stays healthy', async () => {
    const name = uniqueName()
    const preferred = origin.locations.writeOrder()[0]!.id
    const upload = await openUpload(origin.url, name)
    await sendTruncated(upload, { contentLength: 5000, send: randomBytes(100) })
    const digest = sha256(randomBytes(10))
    await sendTruncated(at(origin.url, `/v2/${name}/blobs/uploads/?digest=${digest}`), { contentLength: 5000, send: randomBytes(100), method: 'POST' })
    await new Promise((r) => setTimeout(r, 200))
    expect(origin.locations.isHealthy(preferred)).toBe(true)
    expect(origin.locations.writeOrder()[0]!.id).toBe(preferred)
    expect((await readBlob(name, digest)).status).toBe(404)
  })
})

/** A request (PATCH by default) that declares `contentLength` bytes, sends fewer, then drops the connection. */
function sendTruncated(uploadUrl: string, options: { contentLength: number; send: Uint8Array; method?: string }): Promise<void> {
  const url = new URL(uploadUrl)
  const { method = 'PATCH' } = options
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`${method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${options.contentLength}\r\n\r\n`)
      socket.write(options.send, () => setTimeout(() => { socket.destroy(); resolve() }, 50))
    })
    socket.on('error', reject)
  })
}
