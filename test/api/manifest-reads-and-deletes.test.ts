// distribution-spec end-3 (GET/HEAD manifests by tag or digest, with the stored Content-Type and
// Docker-Content-Digest) and end-9 (DELETE by digest removes the manifest and its tags; DELETE by
// tag only untags).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import {
  DOCKER_MANIFEST, OCI_MANIFEST, at, bytesOf, expectOciError, imageManifest, indexManifest, manifestBytes, pushImage,
  pushImageBlobs, pushManifest, randomBytes, sha256, uniqueName, type Bytes, type Descriptor,
} from '../helpers/registry-client.ts'

let origin: TestOrigin
beforeAll(async () => { origin = await startTestOrigin() })
afterAll(() => origin?.close())

function manifestUrl(name: string, reference: string): string {
  return at(origin.url, `/v2/${name}/manifests/${reference}`)
}

async function tagsOf(name: string): Promise<string[]> {
  const res = await fetch(at(origin.url, `/v2/${name}/tags/list`))
  expect(res.status).toBe(200)
  return (await res.json() as { tags: string[] }).tags
}

/** An image pushed under `tag`, with its exact manifest bytes. */
async function pushImageWithBytes(name: string, tag: string, docker = false): Promise<{ body: Bytes; descriptor: Descriptor }> {
  const { config, layers } = await pushImageBlobs(origin.url, name, { docker })
  const manifest = docker ? { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config, layers } : imageManifest(config, layers)
  const body = manifestBytes(manifest)
  const { response: _, ...descriptor } = await pushManifest(origin.url, name, tag, body, manifest.mediaType as string)
  return { body, descriptor }
}

describe('GET and HEAD', () => {
  it('GET by tag returns the pushed bytes with the stored Content-Type, digest and length', async () => {
    const name = uniqueName()
    const { body, descriptor } = await pushImageWithBytes(name, 'v1')
    const res = await fetch(manifestUrl(name, 'v1'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(OCI_MANIFEST)
    expect(res.headers.get('docker-content-digest')).toBe(descriptor.digest)
    expect(res.headers.get('content-length')).toBe(String(body.byteLength))
    expect(await bytesOf(res)).toEqual(body)
  })

  it('GET by digest returns the same', async () => {
    const name = uniqueName()
    const { body, descriptor } = await pushImageWithBytes(name, 'v1', true)
    const res = await fetch(manifestUrl(name, descriptor.digest))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(DOCKER_MANIFEST)
    expect(res.headers.get('docker-content-digest')).toBe(descriptor.digest)
    expect(await bytesOf(res)).toEqual(body)
  })

  it('HEAD by tag and by digest answers the headers without a body', async () => {
    const name = uniqueName()
    const { body, descriptor } = await pushImageWithBytes(name, 'v1')
    for (const reference of ['v1', descriptor.digest]) {
      const res = await fetch(manifestUrl(name, reference), { method: 'HEAD' })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe(OCI_MANIFEST)
      expect(res.headers.get('docker-content-digest')).toBe(descriptor.digest)
      expect(res.headers.get('content-length')).toBe(String(body.byteLength))
      expect(await res.text()).toBe('')
    }
  })

  it('answers whatever the client Accepts: the stored type is what it gets', async () => {
    const name = uniqueName()
    const { descriptor } = await pushImageWithBytes(name, 'v1')
    const res = await fetch(manifestUrl(name, 'v1'), { headers: { Accept: `${OCI_MANIFEST}, ${DOCKER_MANIFEST}` } })
    expect(res.headers.get('docker-content-digest')).toBe(descriptor.digest)
  })

  it('an unknown tag or digest is 404 MANIFEST_UNKNOWN (HEAD: 404, no body)', async () => {
    const name = uniqueName()
    await pushImage(origin.url, name, 'v1')
    await expectOciError(await fetch(manifestUrl(name, 'nope')), 'MANIFEST_UNKNOWN', 404)
    await expectOciError(await fetch(manifestUrl(name, sha256(randomBytes(4)))), 'MANIFEST_UNKNOWN', 404)
    const head = await fetch(manifestUrl(name, 'nope'), { method: 'HEAD' })
    expect(head.status).toBe(404)
    expect(await head.text()).toBe('')
  })

  it('an unknown repository is 404 NAME_UNKNOWN', async () => {
    await expectOciError(await fetch(manifestUrl(uniqueName('nobody'), 'latest')), 'NAME_UNKNOWN', 404)
    expect((await fetch(manifestUrl(uniqueName('nobody'), 'latest'), { method: 'HEAD' })).status).toBe(404)
  })

  it('a manifest of repository A is unknown in repository B', async () => {
    const a = uniqueName()
    const b = uniqueName()
    const { descriptor } = await pushImageWithBytes(a, 'v1')
    await pushImage(origin.url, b, 'v1')
    await expectOciError(await fetch(manifestUrl(b, descriptor.digest)), 'MANIFEST_UNKNOWN', 404)
  })
})

describe('DELETE', () => {
  it('by digest: 202, then the manifest and every tag pointing at it are gone', async () => {
    const name = uniqueName()
    const { body, descriptor } = await pushImageWithBytes(name, 'v1')
    await pushManifest(origin.url, name, 'also', body)
    const keep = await pushImage(origin.url, name, 'other')
    const res = await fetch(manifestUrl(name, descriptor.digest), { method: 'DELETE' })
    expect(res.status).toBe(202)
    await expectOciError(await fetch(manifestUrl(name, descriptor.digest)), 'MANIFEST_UNKNOWN', 404)
    await expectOciError(await fetch(manifestUrl(name, 'v1')), 'MANIFEST_UNKNOWN', 404)
    await expectOciError(await fetch(manifestUrl(name, 'also')), 'MANIFEST_UNKNOWN', 404)
    expect(await tagsOf(name)).toEqual(['other'])
    expect((await fetch(manifestUrl(name, keep.digest))).status).toBe(200)
  })

  it('by tag: 202, the tag is gone but the manifest stays reachable by digest', async () => {
    const name = uniqueName()
    const { body, descriptor } = await pushImageWithBytes(name, 'v1')
    await pushManifest(origin.url, name, 'v2', body)
    expect((await fetch(manifestUrl(name, 'v1'), { method: 'DELETE' })).status).toBe(202)
    await expectOciError(await fetch(manifestUrl(name, 'v1')), 'MANIFEST_UNKNOWN', 404)
    expect(await tagsOf(name)).toEqual(['v2'])
    const byDigest = await fetch(manifestUrl(name, descriptor.digest))
    expect(byDigest.status).toBe(200)
    expect(await bytesOf(byDigest)).toEqual(body)
  })

  it('an unknown tag or digest is 404 MANIFEST_UNKNOWN; an unknown repository 404 NAME_UNKNOWN', async () => {
    const name = uniqueName()
    await pushImage(origin.url, name, 'v1')
    await expectOciError(await fetch(manifestUrl(name, 'nope'), { method: 'DELETE' }), 'MANIFEST_UNKNOWN', 404)
    await expectOciError(await fetch(manifestUrl(name, sha256(randomBytes(4))), { method: 'DELETE' }), 'MANIFEST_UNKNOWN', 404)
    await expectOciError(await fetch(manifestUrl(uniqueName('nobody'), 'v1'), { method: 'DELETE' }), 'NAME_UNKNOWN', 404)
  })

  it('deleting twice: the second is 404', async () => {
    const name = uniqueName()
    const image = await pushImage(origin.url, name, 'v1')
    expect((await fetch(manifestUrl(name, image.digest), { method: 'DELETE' })).status).toBe(202)
    await expectOciError(await fetch(manifestUrl(name, image.digest), { method: 'DELETE' }), 'MANIFEST_UNKNOWN', 404)
  })

  it('a deleted manifest can be pushed again', async () => {
    const name = uniqueName()
    const { body, descriptor } = await pushImageWithBytes(name, 'v1')
    await fetch(manifestUrl(name, descriptor.digest), { method: 'DELETE' })
    await pushManifest(origin.url, name, 'v1', body)
    expect((await fetch(manifestUrl(name, 'v1'))).headers.get('docker-content-digest')).toBe(descriptor.digest)
  })

  it('deleting an index leaves its children in place', async () => {
    const name = uniqueName()
    const child = await pushImage(origin.url, name, 'child')
    const index = await pushManifest(origin.url, name, 'index', indexManifest([child]))
    expect((await fetch(manifestUrl(name, index.digest), { method: 'DELETE' })).status).toBe(202)
    expect((await fetch(manifestUrl(name, child.digest))).status).toBe(200)
    expect(await tagsOf(name)).toEqual(['child'])
  })
})

describe('a deleted manifest', () => {
  it('is not readable as a blob of the repository either', async () => {
    const origin = await startTestOrigin()
    try {
      const name = uniqueName('gone')
      const manifest = await pushImage(origin.url, name, 'v1')
      expect((await fetch(`${origin.url}/v2/${name}/blobs/${manifest.digest}`)).status).toBe(200)
      expect((await fetch(`${origin.url}/v2/${name}/manifests/${manifest.digest}`, { method: 'DELETE' })).status).toBe(202)
      await expectOciError(await fetch(`${origin.url}/v2/${name}/blobs/${manifest.digest}`), 'BLOB_UNKNOWN', 404)
    } finally {
      await origin.close()
    }
  })
})
