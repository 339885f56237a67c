// distribution-spec end-2 (GET/HEAD blobs, with Range per RFC 9110 §14) and end-10 (DELETE):
// a blob is readable only in the repositories it was pushed or mounted to.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { at, bytesOf, expectOciError, pushBlob, randomBytes, sha256, sha512, uniqueName } from '../helpers/registry-client.ts'

let origin: TestOrigin
const name = uniqueName('ranges')
const bytes = randomBytes(100)
let digest: string

beforeAll(async () => {
  origin = await startTestOrigin()
  digest = (await pushBlob(origin.url, name, bytes)).digest
})
afterAll(() => origin?.close())

function blobUrl(repository: string, d: string): string {
  return at(origin.url, `/v2/${repository}/blobs/${d}`)
}

function getRange(range: string): Promise<Response> {
  return fetch(blobUrl(name, digest), { headers: { Range: range } })
}

describe('HEAD and GET', () => {
  it('HEAD answers 200 with Content-Length, Docker-Content-Digest, Accept-Ranges and no body', async () => {
    const res = await fetch(blobUrl(name, digest), { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe('100')
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(await res.text()).toBe('')
  })

  it('GET streams the exact bytes with the same headers', async () => {
    const res = await fetch(blobUrl(name, digest))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe('100')
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(await bytesOf(res)).toEqual(bytes)
  })

  it('serves a large blob intact', async () => {
    const large = randomBytes(3 * 1024 * 1024 + 5)
    const { digest: d } = await pushBlob(origin.url, name, large)
    const res = await fetch(blobUrl(name, d))
    expect(res.headers.get('content-length')).toBe(String(large.byteLength))
    expect(sha256(await bytesOf(res))).toBe(d)
  })

  it('serves sha512 blobs by their sha512 digest', async () => {
    const body = randomBytes(40)
    const d = sha512(body)
    const push = await fetch(at(origin.url, `/v2/${name}/blobs/uploads/?digest=${d}`), { method: 'POST', body })
    expect(push.status).toBe(201)
    const res = await fetch(blobUrl(name, d))
    expect(res.headers.get('docker-content-digest')).toBe(d)
    expect(await bytesOf(res)).toEqual(body)
  })
})

describe('Range requests', () => {
  it('bytes=0-9 is 206 with Content-Range and the first ten bytes', async () => {
    const res = await getRange('bytes=0-9')
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe('bytes 0-9/100')
    expect(res.headers.get('content-length')).toBe('10')
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    expect(await bytesOf(res)).toEqual(bytes.subarray(0, 10))
  })

  it('bytes=10- is 206 with the rest of the blob', async () => {
    const res = await getRange('bytes=10-')
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe('bytes 10-99/100')
    expect(await bytesOf(res)).toEqual(bytes.subarray(10))
  })

  it('bytes=-5 is 206 with the last five bytes', async () => {
    const res = await getRange('bytes=-5')
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe('bytes 95-99/100')
    expect(await bytesOf(res)).toEqual(bytes.subarray(95))
  })

  it('a range ending past the blob is clamped to its end', async () => {
    const res = await getRange('bytes=90-5000')
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe('bytes 90-99/100')
    expect(await bytesOf(res)).toEqual(bytes.subarray(90))
  })

  it('a suffix longer than the blob is the whole blob, as a 206', async () => {
    const res = await getRange('bytes=-500')
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe('bytes 0-99/100')
    expect(await bytesOf(res)).toEqual(bytes)
  })

  it('a single byte at the very end', async () => {
    const res = await getRange('bytes=99-99')
    expect(res.status).toBe(206)
    expect(await bytesOf(res)).toEqual(bytes.subarray(99))
  })

  it('a range starting at or past the end is 416 with Content-Range bytes */size', async () => {
    for (const range of ['bytes=100-', 'bytes=100-200', 'bytes=-0']) {
      const res = await getRange(range)
      expect(res.status, range).toBe(416)
      expect(res.headers.get('content-range')).toBe('bytes */100')
      await res.body?.cancel()
    }
  })

  it('an inverted range (bytes=500-0) is 416 with Content-Range bytes */size and its error JSON, never the whole blob', async () => {
    for (const range of ['bytes=500-0', 'bytes=9-0', 'bytes=50-49']) {
      const res = await getRange(range)
      expect(res.status, range).toBe(416)
      expect(res.headers.get('content-range'), range).toBe('bytes */100')
      expect((await res.json() as { errors: { code: string }[] }).errors[0]!.code).toBe('RANGE_INVALID')
    }
  })

  it('a malformed or multi-part Range is ignored: 200 with the whole blob', async () => {
    for (const range of ['bytes=abc', 'items=0-9', 'bytes=0-1,5-6', 'bytes=0-1, 9-0', 'bytes=--5']) {
      const res = await getRange(range)
      expect(res.status, range).toBe(200)
      expect(await bytesOf(res)).toEqual(bytes)
    }
  })

  it('no range of the empty blob is satisfiable', async () => {
    const empty = await pushBlob(origin.url, name, new Uint8Array(0))
    const res = await fetch(blobUrl(name, empty.digest), { headers: { Range: 'bytes=0-0' } })
    expect(res.status).toBe(416)
    await res.body?.cancel()
  })
})

describe('repository scoping', () => {
  it('a blob pushed to repository A is not readable from repository B', async () => {
    const other = uniqueName('ranges')
    await pushBlob(origin.url, other, randomBytes(5))
    await expectOciError(await fetch(blobUrl(other, digest)), 'BLOB_UNKNOWN', 404)
    expect((await fetch(blobUrl(other, digest), { method: 'HEAD' })).status).toBe(404)
  })

  it('a repository that does not exist answers 404 NAME_UNKNOWN', async () => {
    await expectOciError(await fetch(blobUrl(uniqueName('nobody'), digest)), 'NAME_UNKNOWN', 404)
  })

  it('an unknown digest answers 404 BLOB_UNKNOWN (HEAD: 404 without a body)', async () => {
    const unknown = sha256(randomBytes(4))
    await expectOciError(await fetch(blobUrl(name, unknown)), 'BLOB_UNKNOWN', 404)
    const head = await fetch(blobUrl(name, unknown), { method: 'HEAD' })
    expect(head.status).toBe(404)
    expect(await head.text()).toBe('')
  })
})

describe('DELETE', () => {
  it('answers 202; the blob is then BLOB_UNKNOWN, and deleting again is 404', async () => {
    const repository = uniqueName('ranges')
    const body = randomBytes(30)
    const { digest: d } = await pushBlob(origin.url, repository, body)
    const res = await fetch(blobUrl(repository, d), { method: 'DELETE' })
    expect(res.status).toBe(202)
    await expectOciError(await fetch(blobUrl(repository, d)), 'BLOB_UNKNOWN', 404)
    expect((await fetch(blobUrl(repository, d), { method: 'HEAD' })).status).toBe(404)
    await expectOciError(await fetch(blobUrl(repository, d), { method: 'DELETE' }), 'BLOB_UNKNOWN', 404)
  })

  it('only removes the blob from that repository', async () => {
    const a = uniqueName('ranges')
    const b = uniqueName('ranges')
    const body = randomBytes(30)
    const { digest: d } = await pushBlob(origin.url, a, body)
    await pushBlob(origin.url, b, body)
    expect((await fetch(blobUrl(a, d), { method: 'DELETE' })).status).toBe(202)
    expect(await bytesOf(await fetch(blobUrl(b, d)))).toEqual(body)
  })

  it('a deleted blob can be pushed again', async () => {
    const repository = uniqueName('ranges')
    const body = randomBytes(30)
    const { digest: d } = await pushBlob(origin.url, repository, body)
    await fetch(blobUrl(repository, d), { method: 'DELETE' })
    await pushBlob(origin.url, repository, body)
    expect(await bytesOf(await fetch(blobUrl(repository, d)))).toEqual(body)
  })
})
