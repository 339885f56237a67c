// Signed URLs of local-disk locations (README "Redirects to local disk (signed URLs)"): a disk that
// names a public URL presigns like a cloud bucket, and the origin owning it serves those URLs
// (GET/HEAD with Range), refusing expired, forged and out-of-layout ones, without Authorization.

import { stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobKey } from '../../storage/keys.ts'
import { signBlobUrl } from '../../storage/signed-url.ts'
import { createSignedUrlEngine } from '../../storage/drivers/signed-url.ts'
import { readAll } from '../../storage/conformance-bytes.ts'
import { loadOrCreateUrlSigningKey, URL_SIGNING_KEY_FILE } from '../../origin/url-signing-key.ts'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { rawRequest } from '../helpers/raw-http.ts'
import { bytesOf, expectOciError, pushBlob, randomBytes, uniqueName } from '../helpers/registry-client.ts'

const PUBLIC_URL = 'https://disk-us.example.com'
let origin: TestOrigin
const name = uniqueName('signed')
const bytes = randomBytes(1000)
let digest: string
let key: string
let signingKey: string

beforeAll(async () => {
  origin = await startTestOrigin({
    // Pushes land on us-east (the first preference); only it names a public URL.
    edit: (c) => ({
      ...c,
      replication: { ...c.replication, enabled: false },
      locations: c.locations.map((l) => (l.id === 'us-east' ? { ...l, serve: 'redirect', params: { ...l.params, publicUrl: PUBLIC_URL } } : l)),
    }),
  })
  digest = (await pushBlob(origin.url, name, bytes)).digest
  key = blobKey(digest)
  signingKey = await loadOrCreateUrlSigningKey(origin.dataDir)
})
afterAll(() => origin?.close())

/** The location's presigned URL for `k`, as an edge would redirect to it. */
async function presign(k: string, expiresIn?: number): Promise<string> {
  const url = await origin.locations.get('us-east')!.engine.presign!(k, { expiresIn })
  expect(url).not.toBeNull()
  return url!
}

/** Fetches a signed URL from the test origin (its public URL names a host that does not exist). */
function follow(url: string, init: RequestInit = {}): Promise<Response> {
  const { pathname, search } = new URL(url)
  return fetch(`${origin.url}${pathname}${search}`, init)
}

describe('signed URLs of a local-disk location', () => {
  it('presigns under the public URL, and the origin serves the exact bytes to a client without credentials', async () => {
    const url = await presign(key)
    expect(url.startsWith(`${PUBLIC_URL}/_meridian/blobs/us-east/${key}?expires=`)).toBe(true)
    const res = await follow(url)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe('1000')
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(res.headers.get('cache-control')).toMatch(/^private, max-age=1[12]\d\d$/)
    expect(await bytesOf(res)).toEqual(bytes)
  })

  it('answers Range with 206 and Content-Range, and an unsatisfiable one with 416', async () => {
    const url = await presign(key)
    const res = await follow(url, { headers: { Range: 'bytes=100-199' } })
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe('bytes 100-199/1000')
    expect(res.headers.get('content-length')).toBe('100')
    expect(await bytesOf(res)).toEqual(bytes.slice(100, 200))
    const tail = await follow(url, { headers: { Range: 'bytes=-10' } })
    expect(await bytesOf(tail)).toEqual(bytes.slice(990))
    const past = await follow(url, { headers: { Range: 'bytes=1000-' } })
    expect(past.headers.get('content-range')).toBe('bytes */1000')
    await expectOciError(past, 'RANGE_INVALID', 416)
  })

  it('answers HEAD from the file size, without a body', async () => {
    const res = await follow(await presign(key), { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe('1000')
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    expect(await res.text()).toBe('')
  })

  it('refuses an expired URL with 403 DENIED', async () => {
    const expired = await signBlobUrl({ baseUrl: PUBLIC_URL, location: 'us-east', key, expiresAt: Math.floor(Date.now() / 1000) - 1, secret: signingKey })
    const body = await expectOciError(await follow(expired), 'DENIED', 403)
    expect(body.errors[0]!.message).toBe('signed URL expired')
    expect((await follow(expired, { method: 'HEAD' })).status).toBe(403)
  })

  it('refuses forged URLs with 403 DENIED: another digest, location or expiry, a missing or foreign signature', async () => {
    const url = new URL(await presign(key))
    const other = blobKey(`sha256:${'0'.repeat(64)}`)
    const later = String(Number(url.searchParams.get('expires')) + 60)
    const forged = [
      url.href.replace(key, other),
      url.href.replace('/us-east/', '/eu-west/'),
      url.href.replace(/expires=\d+/, `expires=${later}`),
      url.href.replace(/&signature=.*$/, ''),
      await signBlobUrl({ baseUrl: PUBLIC_URL, location: 'us-east', key, expiresAt: Math.floor(Date.now() / 1000) + 60, secret: 'another-deployment-key-0123456789abcdef' }),
    ]
    for (const href of forged) {
      const body = await expectOciError(await follow(href), 'DENIED', 403)
      expect(body.errors[0]!.message, href).toBe('signature does not match')
    }
  })

  it('never serves a path outside the blob layout, signed or not', async () => {
    const url = new URL(await presign(key))
    const query = url.search
    // Not a blob key: an upload part, the root marker, a traversal kept literal on the wire.
    for (const path of ['uploads/probe/write', '.meridian-location', `blobs/sha256/${digest.slice(7, 9)}/..%2f..%2f.meridian-location`]) {
      await expectOciError(await fetch(`${origin.url}/_meridian/blobs/us-east/${path}${query}`), 'DENIED', 403)
    }
    const raw = await rawRequest(origin.url, `GET /_meridian/blobs/us-east/blobs/../../../../etc/passwd${query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    expect([403, 404]).toContain(raw.status)
    expect(raw.body).toMatch(/^\{"errors":\[\{"code":"(DENIED|NOT_FOUND)"/)
  })

  it('answers 404 BLOB_UNKNOWN when the bytes are gone, and for a disk without a public URL', async () => {
    const gone = randomBytes(10)
    const goneKey = blobKey((await pushBlob(origin.url, name, gone)).digest)
    const url = await presign(goneKey)
    await unlink(join(String(origin.locations.get('us-east')!.config.params.root), goneKey))
    await expectOciError(await follow(url), 'BLOB_UNKNOWN', 404)
    expect((await follow(url, { method: 'HEAD' })).status).toBe(404)
    // eu-west names no public URL: no presign, and a URL signed for it anyway is for no blob here.
    expect(await origin.locations.get('eu-west')!.engine.presign?.(key) ?? null).toBeNull()
    const foreign = await signBlobUrl({ baseUrl: PUBLIC_URL, location: 'eu-west', key, expiresAt: Math.floor(Date.now() / 1000) + 60, secret: signingKey })
    await expectOciError(await follow(foreign), 'BLOB_UNKNOWN', 404)
  })

  it('keeps the generated signing key in the data directory, readable by its owner only', async () => {
    const info = await stat(join(origin.dataDir, URL_SIGNING_KEY_FILE))
    expect(info.mode & 0o777).toBe(0o600)
    expect(signingKey).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(await loadOrCreateUrlSigningKey(origin.dataDir)).toBe(signingKey)
  })
})

describe('a local-disk location reached from afar (the edge\'s signed-url engine)', () => {
  const remote = () => createSignedUrlEngine({ location: 'us-east', publicUrl: origin.url, secret: signingKey, expiresIn: 600 })

  it('stats, reads and reads a range through the origin\'s signed URLs', async () => {
    expect(await remote().stat(key)).toEqual({ key, size: 1000 })
    const whole = (await remote().get(key))!
    expect(whole.size).toBe(1000)
    expect(new Uint8Array(await readAll(whole.body))).toEqual(bytes)
    const part = (await remote().get(key, { range: { start: 10, end: 5000 } }))!
    expect(part).toMatchObject({ size: 1000, range: { start: 10, end: 999 } })
    expect(new Uint8Array(await readAll(part.body))).toEqual(bytes.slice(10))
    await expect(remote().get(key, { range: { start: 1000, end: 1001 } })).rejects.toMatchObject({ name: 'StorageError', kind: 'invalid' })
  })

  it('presigns the same URLs the disk\'s own engine does, and sees missing and non-blob keys as absent', async () => {
    const url = new URL((await remote().presign!(key))!)
    expect(url.pathname).toBe(`/_meridian/blobs/us-east/${key}`)
    expect((await follow(url.href)).status).toBe(200)
    const missing = blobKey(`sha256:${'1'.repeat(64)}`)
    expect(await remote().stat(missing)).toBeNull()
    expect(await remote().get(missing)).toBeNull()
    expect(await remote().get('uploads/probe/write')).toBeNull()
    expect(await remote().presign!('uploads/probe/write')).toBeNull()
  })

  it('reports a key the origin does not share as denied, and refuses writes', async () => {
    const stranger = createSignedUrlEngine({ location: 'us-east', publicUrl: origin.url, secret: 'not-this-deployments-key-0123456789' })
    await expect(stranger.get(key)).rejects.toMatchObject({ name: 'StorageError', kind: 'denied' })
    await expect(remote().put(key, new Blob(['x']).stream())).rejects.toMatchObject({ kind: 'denied' })
    await expect(remote().delete(key)).rejects.toMatchObject({ kind: 'denied' })
  })
})
