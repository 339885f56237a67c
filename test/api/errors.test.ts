// The one error vocabulary (ARCHITECTURE §4.5): every error is the spec's JSON,
// {"errors":[{"code","message","detail"}]}, with the status its code implies, and bad input never
// gets a 500. Also: a registry with deletes disabled answers DELETE with 405 UNSUPPORTED.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import {
  OCI_MANIFEST, at, expectOciError, openUpload, pushImage, pushBlob, randomBytes, sha256, uniqueName, type Descriptor,
} from '../helpers/registry-client.ts'

let origin: TestOrigin
const name = uniqueName('errors')
let blob: Descriptor
let image: Descriptor
let upload: string

beforeAll(async () => {
  origin = await startTestOrigin()
  blob = await pushBlob(origin.url, name, randomBytes(32))
  image = await pushImage(origin.url, name, 'v1')
  upload = await openUpload(origin.url, name)
})
afterAll(() => origin?.close())

const GARBAGE_DIGESTS = [
  'sha256:xyz',
  'md5:d41d8cd98f00b204e9800998ecf8427e',
  `sha256:${'A'.repeat(64)}`,
  `sha256:${'a'.repeat(63)}`,
  `sha256:${'a'.repeat(65)}`,
  `sha512:${'a'.repeat(64)}`,
  'sha256:',
  ':',
  'sha256:%00',
  `sha256:${'a'.repeat(64)}:extra`,
  'SHA256:' + 'a'.repeat(64),
  'sha256+b64:abc',
  'x'.repeat(2000) + ':abc',
]

describe('error bodies', () => {
  it('carry code, message and detail with the status the code implies', async () => {
    const unknownDigest = sha256(randomBytes(4))
    const cases: [string, RequestInit, string, number][] = [
      [`/v2/${name}/blobs/${unknownDigest}`, {}, 'BLOB_UNKNOWN', 404],
      [`/v2/${name}/manifests/nope`, {}, 'MANIFEST_UNKNOWN', 404],
      [`/v2/${uniqueName('nobody')}/tags/list`, {}, 'NAME_UNKNOWN', 404],
      [`/v2/UPPER/tags/list`, {}, 'NAME_INVALID', 400],
      [`/v2/${name}/blobs/sha256:xyz`, {}, 'DIGEST_INVALID', 400],
      [`/v2/${name}/blobs/uploads/${crypto.randomUUID()}`, {}, 'BLOB_UPLOAD_UNKNOWN', 404],
      [`/v2/${name}/manifests/v2`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: '{' }, 'MANIFEST_INVALID', 400],
    ]
    for (const [path, init, code, status] of cases) {
      const body = await expectOciError(await fetch(at(origin.url, path), init), code, status)
      expect(body.errors[0]!.message.length).toBeGreaterThan(0)
    }
  })

  it('name what the client sent in their detail', async () => {
    const res = await fetch(at(origin.url, `/v2/${name}/blobs/sha256:xyz`))
    const body = await expectOciError(res, 'DIGEST_INVALID', 400)
    expect(body.errors[0]!.detail).toEqual({ digest: 'sha256:xyz' })
  })

  it('carry the API version header', async () => {
    const res = await fetch(at(origin.url, `/v2/${name}/manifests/nope`))
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0')
    await res.body?.cancel()
  })
})

describe('garbage input is a 4xx, never a 500', () => {
  it.each(GARBAGE_DIGESTS)('digest %s is 400 DIGEST_INVALID wherever a digest goes', async (digest) => {
    const d = encodeURIComponent(digest).replace(/%3A/g, ':')
    const requests: [string, RequestInit][] = [
      [`/v2/${name}/blobs/${d}`, { method: 'GET' }],
      [`/v2/${name}/blobs/${d}`, { method: 'DELETE' }],
      [`/v2/${name}/referrers/${d}`, { method: 'GET' }],
      [`/v2/${name}/manifests/${d}`, { method: 'DELETE' }],
      [`/v2/${name}/manifests/${d}`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: '{}' }],
      [`/v2/${name}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, { method: 'POST', body: randomBytes(4) }],
      [`${new URL(upload).pathname}?digest=${encodeURIComponent(digest)}`, { method: 'PUT' }],
    ]
    for (const [path, init] of requests) {
      const res = await fetch(at(origin.url, path), init)
      await expectOciError(res, 'DIGEST_INVALID', 400).catch((err: Error) => {
        throw new Error(`${init.method} ${path}: ${err.message}`)
      })
    }
    // HEAD has no body, only the status.
    const head = await fetch(at(origin.url, `/v2/${name}/blobs/${d}`), { method: 'HEAD' })
    expect(head.status).toBe(400)
    // A manifest read by a reference that is neither tag nor digest names nothing: 404, as
    // distribution answers (distribution-spec conformance pulls `.INVALID_MANIFEST_NAME`).
    await expectOciError(await fetch(at(origin.url, `/v2/${name}/manifests/${d}`)), 'MANIFEST_UNKNOWN', 404)
    expect((await fetch(at(origin.url, `/v2/${name}/manifests/${d}`), { method: 'HEAD' })).status).toBe(404)
  })

  it('a 256-character name is NAME_INVALID, not a 500', async () => {
    const long = `${'a'.repeat(128)}/${'b'.repeat(127)}`
    expect(long).toHaveLength(256)
    await expectOciError(await fetch(at(origin.url, `/v2/${long}/tags/list`)), 'NAME_INVALID', 400)
    await expectOciError(await fetch(at(origin.url, `/v2/${long}/blobs/uploads/`), { method: 'POST' }), 'NAME_INVALID', 400)
  })

  it('a PATCH with a malformed Content-Range is 416, not a 500', async () => {
    for (const header of ['garbage', 'bytes=0-3', '3-1', '0-3/2', '0-99999999999999999999999']) {
      const res = await fetch(upload, { method: 'PATCH', headers: { 'Content-Range': header }, body: randomBytes(4) })
      expect(res.status, header).toBe(416)
      await res.body?.cancel()
    }
  })

  it('bad pagination numbers are 400, not a 500', async () => {
    for (const n of ['-1', 'abc', '1e3', '99999999999999999999999999']) {
      const res = await fetch(at(origin.url, `/v2/${name}/tags/list?n=${n}`))
      expect(res.status, `n=${n}`).toBeLessThan(500)
      await res.body?.cancel()
    }
  })

  it('odd manifest Content-Types are 4xx or accepted, never a 500', async () => {
    for (const type of ['', 'text/plain', ';;;', 'application/vnd.oci.image.manifest.v1+json; charset=utf-8', 'x'.repeat(5000)]) {
      const res = await fetch(at(origin.url, `/v2/${name}/manifests/odd`), { method: 'PUT', headers: { 'Content-Type': type }, body: '{"schemaVersion":2}' })
      expect(res.status, `Content-Type ${type.slice(0, 40)}`).toBeLessThan(500)
      await res.body?.cancel()
    }
  })

  it('non-UTF-8 and deeply nested manifests are 400 MANIFEST_INVALID', async () => {
    const bodies: BodyInit[] = [new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]), '['.repeat(100_000), `{"schemaVersion":2,"layers":${'['.repeat(10_000)}}`]
    for (const body of bodies) {
      const res = await fetch(at(origin.url, `/v2/${name}/manifests/weird`), { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body })
      await expectOciError(res, 'MANIFEST_INVALID', 400)
    }
  })

  it('reading a reference that is neither tag nor digest is 404 MANIFEST_UNKNOWN; writing it is 400', async () => {
    for (const ref of ['v1:latest', '.INVALID_MANIFEST_NAME']) {
      await expectOciError(await fetch(at(origin.url, `/v2/${name}/manifests/${ref}`)), 'MANIFEST_UNKNOWN', 404)
      const put = await fetch(at(origin.url, `/v2/${name}/manifests/${ref}`), { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: '{}' })
      expect(put.status).toBe(400)
      await put.body?.cancel()
    }
  })
})

describe('with deletes disabled (MERIDIAN_DELETE_ENABLED=false)', () => {
  let locked: TestOrigin
  let lockedImage: Descriptor
  let lockedBlob: Descriptor
  const repo = uniqueName('locked')

  beforeAll(async () => {
    locked = await startTestOrigin({ env: { MERIDIAN_DELETE_ENABLED: 'false' } })
    lockedBlob = await pushBlob(locked.url, repo, randomBytes(16))
    lockedImage = await pushImage(locked.url, repo, 'v1')
  })
  afterAll(() => locked?.close())

  it('DELETE of a blob, a manifest or a tag is 405 UNSUPPORTED and removes nothing', async () => {
    const targets = [`/v2/${repo}/blobs/${lockedBlob.digest}`, `/v2/${repo}/manifests/${lockedImage.digest}`, `/v2/${repo}/manifests/v1`]
    for (const path of targets) {
      await expectOciError(await fetch(at(locked.url, path), { method: 'DELETE' }), 'UNSUPPORTED', 405)
      expect((await fetch(at(locked.url, path))).status).toBe(200)
    }
  })

  it('cancelling an upload session is still allowed', async () => {
    const session = await openUpload(locked.url, repo)
    expect((await fetch(session, { method: 'DELETE' })).status).toBe(204)
  })

  it('the same requests succeed on a registry with deletes enabled', async () => {
    expect((await fetch(at(origin.url, `/v2/${name}/manifests/${image.digest}`), { method: 'DELETE' })).status).toBe(202)
    expect((await fetch(at(origin.url, `/v2/${name}/blobs/${blob.digest}`), { method: 'DELETE' })).status).toBe(202)
  })
})
