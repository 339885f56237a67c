// Repository names and tags (distribution-spec "Pulling manifests": the <name> and <reference>
// grammars). Multi-segment names, and names whose segments are the API's own words (`blobs`,
// `uploads`, `manifests`, `tags`, `referrers`), must work on every endpoint (STYLE §5).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import {
  OCI_EMPTY, at, bytesOf, closeUpload, expectOciError, imageManifest, openUpload, patchChunk, pushBlob, pushImageBlobs,
  pushManifest, putManifest, randomBytes, sha256, utf8,
} from '../helpers/registry-client.ts'

let origin: TestOrigin
beforeAll(async () => { origin = await startTestOrigin() })
afterAll(() => origin?.close())

const TRICKY_NAMES = [
  'org/team/app',
  'acme/blobs/uploads/manifests',
  'blobs',
  'uploads/blobs',
  'x/manifests',
  'x/manifests/y/tags/list',
  'a/referrers/b/blobs',
  'acme/blobs/uploads',
  'tags/list',
  'v2/referrers',
]

describe.each(TRICKY_NAMES)('the repository %s', (name) => {
  it('works for every endpoint, from upload to delete', async () => {
    // Blob upload: session, chunk, status, close.
    const upload = await openUpload(origin.url, name)
    expect(new URL(upload).pathname.startsWith(`/v2/${name}/blobs/uploads/`)).toBe(true)
    const layerBytes = randomBytes(200)
    expect((await patchChunk(upload, layerBytes.subarray(0, 80), 0)).status).toBe(202)
    const status = await fetch(upload)
    expect(status.status).toBe(204)
    expect(status.headers.get('range')).toBe('0-79')
    expect((await closeUpload(upload, sha256(layerBytes), layerBytes.subarray(80))).status).toBe(201)
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layerBytes), size: 200 }

    // Blob reads.
    const head = await fetch(at(origin.url, `/v2/${name}/blobs/${layer.digest}`), { method: 'HEAD' })
    expect(head.status).toBe(200)
    const get = await fetch(at(origin.url, `/v2/${name}/blobs/${layer.digest}`), { headers: { Range: 'bytes=0-9' } })
    expect(get.status).toBe(206)
    expect(await bytesOf(get)).toEqual(layerBytes.subarray(0, 10))

    // Cancelling a second session.
    const cancelled = await openUpload(origin.url, name)
    expect((await fetch(cancelled, { method: 'DELETE' })).status).toBe(204)

    // Manifest by tag, reads, tags list.
    const config = await pushBlob(origin.url, name, utf8('{}'), OCI_EMPTY)
    const image = await pushManifest(origin.url, name, 'v1', imageManifest(config, [layer]))
    expect(image.response.headers.get('location')).toBe(`/v2/${name}/manifests/${image.digest}`)
    for (const reference of ['v1', image.digest]) {
      const res = await fetch(at(origin.url, `/v2/${name}/manifests/${reference}`))
      expect(res.status).toBe(200)
      expect(res.headers.get('docker-content-digest')).toBe(image.digest)
    }
    const tags = await fetch(at(origin.url, `/v2/${name}/tags/list`))
    expect(await tags.json()).toEqual({ name, tags: ['v1'] })

    // A referrer, and the referrers list.
    const { response: _, ...referrer } = await pushManifest(origin.url, name, 'sig', imageManifest(config, [], {
      artifactType: 'application/vnd.example.signature', subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
    }))
    const referrers = await fetch(at(origin.url, `/v2/${name}/referrers/${image.digest}`))
    expect(((await referrers.json()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest)).toEqual([referrer.digest])

    // Mount into and out of the repository.
    const elsewhere = `mounted/${name}`
    const mount = await fetch(at(origin.url, `/v2/${elsewhere}/blobs/uploads/?mount=${layer.digest}&from=${name}`), { method: 'POST' })
    expect(mount.status).toBe(201)

    // The catalog knows the name.
    const catalog = await fetch(at(origin.url, '/v2/_catalog'))
    expect(((await catalog.json()) as { repositories: string[] }).repositories).toContain(name)

    // Deletes: tag, manifest, blob.
    expect((await fetch(at(origin.url, `/v2/${name}/manifests/sig`), { method: 'DELETE' })).status).toBe(202)
    expect((await fetch(at(origin.url, `/v2/${name}/manifests/${image.digest}`), { method: 'DELETE' })).status).toBe(202)
    expect((await fetch(at(origin.url, `/v2/${name}/manifests/v1`))).status).toBe(404)
    expect((await fetch(at(origin.url, `/v2/${name}/blobs/${layer.digest}`), { method: 'DELETE' })).status).toBe(202)
    expect((await fetch(at(origin.url, `/v2/${name}/blobs/${layer.digest}`))).status).toBe(404)
    expect((await fetch(at(origin.url, `/v2/${elsewhere}/blobs/${layer.digest}`))).status).toBe(200)
  })
})

describe('names the grammar refuses', () => {
  const INVALID = ['UPPER', 'Org/app', 'a//b', '-x', 'x-', 'a/-b', 'a..b', 'a_/b', '.hidden', 'a/b/', 'n'.repeat(256), 'a%20b']

  it.each(INVALID)('%s is 400 NAME_INVALID on every endpoint', async (name) => {
    const digest = sha256(randomBytes(4))
    const requests: [string, RequestInit][] = [
      [`/v2/${name}/blobs/uploads/`, { method: 'POST' }],
      [`/v2/${name}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: randomBytes(4) }],
      [`/v2/${name}/blobs/uploads/${crypto.randomUUID()}`, { method: 'GET' }],
      [`/v2/${name}/blobs/uploads/${crypto.randomUUID()}`, { method: 'PATCH', body: randomBytes(4) }],
      [`/v2/${name}/blobs/${digest}`, { method: 'GET' }],
      [`/v2/${name}/blobs/${digest}`, { method: 'DELETE' }],
      [`/v2/${name}/manifests/latest`, { method: 'GET' }],
      [`/v2/${name}/manifests/latest`, { method: 'PUT', body: '{}', headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } }],
      [`/v2/${name}/manifests/latest`, { method: 'DELETE' }],
      [`/v2/${name}/tags/list`, { method: 'GET' }],
      [`/v2/${name}/referrers/${digest}`, { method: 'GET' }],
    ]
    for (const [path, init] of requests) {
      const res = await fetch(at(origin.url, path), init)
      await expectOciError(res, 'NAME_INVALID', 400).catch((err: Error) => {
        throw new Error(`${init.method} ${path}: ${err.message}`)
      })
    }
  })

  it('a name of exactly 255 characters is accepted', async () => {
    const name = `${'a'.repeat(127)}/${'b'.repeat(127)}`
    expect(name).toHaveLength(255)
    await pushBlob(origin.url, name, randomBytes(8))
  })

  it('a mount `from` an invalid name falls back to an upload session', async () => {
    const res = await fetch(at(origin.url, `/v2/valid/blobs/uploads/?mount=${sha256(randomBytes(4))}&from=UPPER`), { method: 'POST' })
    expect(res.status).toBe(202)
  })
})

describe('tags', () => {
  it('accepts the whole tag grammar: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}', async () => {
    const name = 'tags/grammar'
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const manifest = imageManifest(config, layers)
    const tags = ['_', 'A', '0', 'v1.0.0-rc.1_b', 'a'.repeat(128), 'UPPER.lower-1']
    for (const tag of tags) await pushManifest(origin.url, name, tag, manifest)
    const listed = await fetch(at(origin.url, `/v2/${name}/tags/list`))
    expect(((await listed.json()) as { tags: string[] }).tags.sort()).toEqual([...tags].sort())
  })

  it.each(['-lead', '.lead', 'a'.repeat(129), 'has+plus', 'a%20b'])('refuses the tag %s with 400', async (tag) => {
    const name = 'tags/refused'
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const put = await putManifest(origin.url, name, tag, imageManifest(config, layers))
    expect(put.status).toBe(400)
    const body = await put.json() as { errors: { code: string }[] }
    expect(['MANIFEST_INVALID', 'TAG_INVALID']).toContain(body.errors[0]!.code)
    // Read back, such a reference names nothing: 404 (distribution's answer), not 400.
    expect((await fetch(at(origin.url, `/v2/${name}/manifests/${tag}`))).status).toBe(404)
  })
})
