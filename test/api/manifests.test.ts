// distribution-spec "Pushing Manifests" (end-7): OCI image manifest and index, Docker schema 2
// manifest and manifest list, by tag and by digest; every referenced blob and child manifest must
// be in the repository (the `subject` need not be); refusals use the spec's codes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import {
  DOCKER_LIST, DOCKER_MANIFEST, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
  at, bytesOf, expectOciError, imageManifest, indexManifest, manifestBytes, pushBlob, pushImage, pushImageBlobs,
  pushManifest, putManifest, randomBytes, sha256, sha512, uniqueName, utf8,
} from '../helpers/registry-client.ts'

let origin: TestOrigin
beforeAll(async () => { origin = await startTestOrigin() })
afterAll(() => origin?.close())

async function getManifest(name: string, reference: string, method = 'GET'): Promise<Response> {
  return fetch(at(origin.url, `/v2/${name}/manifests/${reference}`), { method })
}

describe('pushing image manifests', () => {
  it('PUT by tag answers 201 with Location and the digest of the exact bytes', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name, { layers: 2 })
    const body = manifestBytes(imageManifest(config, layers))
    const res = await putManifest(origin.url, name, 'v1', body, OCI_MANIFEST)
    expect(res.status).toBe(201)
    expect(res.headers.get('docker-content-digest')).toBe(sha256(body))
    expect(res.headers.get('location')).toBe(`/v2/${name}/manifests/${sha256(body)}`)
    expect(await bytesOf(await fetch(at(origin.url, res.headers.get('location')!)))).toEqual(body)
  })

  it('PUT by digest answers 201 and the manifest is readable by that digest', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    const res = await putManifest(origin.url, name, sha256(body), body, OCI_MANIFEST)
    expect(res.status).toBe(201)
    expect(res.headers.get('docker-content-digest')).toBe(sha256(body))
    expect(await bytesOf(await getManifest(name, sha256(body)))).toEqual(body)
  })

  it('PUT by a sha512 digest stores the manifest under that digest', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    const res = await putManifest(origin.url, name, sha512(body), body, OCI_MANIFEST)
    expect(res.status).toBe(201)
    expect(res.headers.get('docker-content-digest')).toBe(sha512(body))
    expect((await getManifest(name, sha512(body))).status).toBe(200)
  })

  it('keeps the bytes exactly as pushed (whitespace and key order included)', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const text = `{\n  "layers": ${JSON.stringify(layers)},\n  "config": ${JSON.stringify(config)},\n  "schemaVersion": 2,\n  "mediaType": "${OCI_MANIFEST}"\n}\n`
    const { digest } = await pushManifest(origin.url, name, 'pretty', utf8(text), OCI_MANIFEST)
    const res = await getManifest(name, 'pretty')
    expect(await res.text()).toBe(text)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
  })

  it('accepts a manifest with no layers (an artifact)', async () => {
    const name = uniqueName()
    const config = await pushBlob(origin.url, name, utf8('{}'), OCI_EMPTY)
    const { digest } = await pushManifest(origin.url, name, 'artifact', imageManifest(config, [], { artifactType: 'application/vnd.example+type' }))
    expect((await getManifest(name, digest)).status).toBe(200)
  })

  it('accepts a manifest without its own mediaType field: the Content-Type tells', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const { mediaType: _, ...bare } = imageManifest(config, layers)
    const { digest } = await pushManifest(origin.url, name, 'bare', bare, OCI_MANIFEST)
    const res = await getManifest(name, 'bare')
    expect(res.headers.get('content-type')).toBe(OCI_MANIFEST)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
  })

  it('re-pushing a tag moves it to the new manifest', async () => {
    const name = uniqueName()
    const first = await pushImage(origin.url, name, 'latest')
    const second = await pushImage(origin.url, name, 'latest')
    expect(second.digest).not.toBe(first.digest)
    expect((await getManifest(name, 'latest')).headers.get('docker-content-digest')).toBe(second.digest)
    expect((await getManifest(name, first.digest)).status).toBe(200)
  })

  it('pushing the same manifest under a second tag is 201 with the same digest', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const manifest = imageManifest(config, layers)
    const a = await pushManifest(origin.url, name, 'a', manifest)
    const b = await pushManifest(origin.url, name, 'b', manifest)
    expect(b.digest).toBe(a.digest)
    expect((await getManifest(name, 'b')).headers.get('docker-content-digest')).toBe(a.digest)
  })
})

describe('pushing indexes and Docker manifests', () => {
  it('an OCI image index whose children are in the repository', async () => {
    const name = uniqueName()
    const amd = await pushImage(origin.url, name, 'amd64')
    const arm = await pushImage(origin.url, name, 'arm64')
    const index = indexManifest([
      { ...amd, platform: { architecture: 'amd64', os: 'linux' } },
      { ...arm, platform: { architecture: 'arm64', os: 'linux' } },
    ])
    const { digest } = await pushManifest(origin.url, name, 'multi', index)
    const res = await getManifest(name, 'multi')
    expect(res.headers.get('content-type')).toBe(OCI_INDEX)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
  })

  it('an index whose child is not in the repository is MANIFEST_BLOB_UNKNOWN', async () => {
    const name = uniqueName()
    const elsewhere = await pushImage(origin.url, uniqueName(), 'x')
    await pushImage(origin.url, name, 'present')
    const res = await putManifest(origin.url, name, 'multi', indexManifest([elsewhere]))
    await expectOciError(res, 'MANIFEST_BLOB_UNKNOWN', 400)
    expect((await getManifest(name, 'multi')).status).toBe(404)
  })

  it('an index with no children at all', async () => {
    const name = uniqueName()
    await pushManifest(origin.url, name, 'empty-index', indexManifest([]))
  })

  it('a Docker v2 schema 2 manifest keeps its Docker media type', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name, { docker: true })
    const manifest = { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config, layers }
    const { digest } = await pushManifest(origin.url, name, 'docker', manifest)
    const res = await getManifest(name, 'docker')
    expect(res.headers.get('content-type')).toBe(DOCKER_MANIFEST)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
  })

  it('a Docker manifest list over Docker manifests', async () => {
    const name = uniqueName()
    const children = []
    for (const arch of ['amd64', 'arm64']) {
      const { config, layers } = await pushImageBlobs(origin.url, name, { docker: true })
      const child = await pushManifest(origin.url, name, arch, { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config, layers })
      children.push({ mediaType: DOCKER_MANIFEST, digest: child.digest, size: child.size, platform: { architecture: arch, os: 'linux' } })
    }
    await pushManifest(origin.url, name, 'list', { schemaVersion: 2, mediaType: DOCKER_LIST, manifests: children })
    expect((await getManifest(name, 'list')).headers.get('content-type')).toBe(DOCKER_LIST)
  })

  it('a Docker manifest without mediaType in the body, told by Content-Type', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name, { docker: true })
    await pushManifest(origin.url, name, 'docker-bare', { schemaVersion: 2, config, layers }, DOCKER_MANIFEST)
    expect((await getManifest(name, 'docker-bare')).headers.get('content-type')).toBe(DOCKER_MANIFEST)
  })
})

describe('refused manifests', () => {
  it('a missing layer is 400 MANIFEST_BLOB_UNKNOWN and nothing is stored', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const missing = { mediaType: layers[0]!.mediaType, digest: sha256(randomBytes(9)), size: 9 }
    const body = manifestBytes(imageManifest(config, [...layers, missing]))
    await expectOciError(await putManifest(origin.url, name, 'broken', body), 'MANIFEST_BLOB_UNKNOWN', 400)
    expect((await getManifest(name, 'broken')).status).toBe(404)
    expect((await getManifest(name, sha256(body))).status).toBe(404)
  })

  it('a missing config is 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const name = uniqueName()
    const { layers } = await pushImageBlobs(origin.url, name)
    const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(randomBytes(3)), size: 3 }
    await expectOciError(await putManifest(origin.url, name, 'broken', imageManifest(config, layers)), 'MANIFEST_BLOB_UNKNOWN', 400)
  })

  it('a layer that only another repository holds is MANIFEST_BLOB_UNKNOWN', async () => {
    const name = uniqueName()
    const { config } = await pushImageBlobs(origin.url, name, { layers: 0 })
    const foreign = await pushBlob(origin.url, uniqueName(), randomBytes(20))
    await expectOciError(await putManifest(origin.url, name, 'broken', imageManifest(config, [foreign])), 'MANIFEST_BLOB_UNKNOWN', 400)
  })

  it('a first push into a new repository referencing blobs it lacks is MANIFEST_BLOB_UNKNOWN', async () => {
    const name = uniqueName('fresh')
    const { config, layers } = await pushImageBlobs(origin.url, uniqueName(), { layers: 1 })
    await expectOciError(await putManifest(origin.url, name, 'v1', imageManifest(config, layers)), 'MANIFEST_BLOB_UNKNOWN', 400)
  })

  it('a layer deleted from the repository no longer satisfies a manifest', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    expect((await fetch(at(origin.url, `/v2/${name}/blobs/${layers[0]!.digest}`), { method: 'DELETE' })).status).toBe(202)
    await expectOciError(await putManifest(origin.url, name, 'v1', imageManifest(config, layers)), 'MANIFEST_BLOB_UNKNOWN', 400)
  })

  it('Docker schema 1 is 400 MANIFEST_INVALID, by Content-Type or by body', async () => {
    const name = uniqueName()
    const schema1 = { schemaVersion: 1, name, tag: 'old', architecture: 'amd64', fsLayers: [], history: [] }
    for (const type of ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/vnd.docker.distribution.manifest.v1+json', 'application/json']) {
      await expectOciError(await putManifest(origin.url, name, 'old', schema1, type), 'MANIFEST_INVALID', 400)
    }
  })

  it('invalid JSON, a non-object and a wrong schemaVersion are 400 MANIFEST_INVALID', async () => {
    const name = uniqueName()
    for (const body of ['{not json', '[]', '"text"', '', JSON.stringify({ schemaVersion: 3, mediaType: OCI_MANIFEST })]) {
      await expectOciError(await putManifest(origin.url, name, 'bad', utf8(body), OCI_MANIFEST), 'MANIFEST_INVALID', 400)
    }
  })

  it('malformed descriptors are 400 MANIFEST_INVALID', async () => {
    const name = uniqueName()
    const { config } = await pushImageBlobs(origin.url, name, { layers: 0 })
    const bad = [
      imageManifest(config, [{ mediaType: 'x', digest: 'sha256:xyz', size: 1 }]),
      imageManifest(config, [{ mediaType: 'x', digest: config.digest, size: -1 }]),
      imageManifest(config, 'not-a-list' as never),
      { schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] },
    ]
    for (const m of bad) await expectOciError(await putManifest(origin.url, name, 'bad', m), 'MANIFEST_INVALID', 400)
  })

  it('a Content-Type that contradicts the body mediaType is 400 MANIFEST_INVALID', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    await expectOciError(await putManifest(origin.url, name, 'x', imageManifest(config, layers), DOCKER_MANIFEST), 'MANIFEST_INVALID', 400)
  })

  it('an unsupported media type is 400 MANIFEST_INVALID', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const m = imageManifest(config, layers, { mediaType: 'application/vnd.example.unknown+json' })
    await expectOciError(await putManifest(origin.url, name, 'x', m), 'MANIFEST_INVALID', 400)
  })

  it('a manifest over 4 MiB is 413 with code MANIFEST_INVALID', async () => {
    const name = uniqueName()
    const config = await pushBlob(origin.url, name, utf8('{}'), OCI_EMPTY)
    const huge = imageManifest(config, [], { annotations: { padding: 'x'.repeat(4 * 1024 * 1024) } })
    await expectOciError(await putManifest(origin.url, name, 'huge', huge), 'MANIFEST_INVALID', 413)
    expect((await getManifest(name, 'huge')).status).toBe(404)
  })

  it('a manifest just under 4 MiB is accepted', async () => {
    const name = uniqueName()
    const config = await pushBlob(origin.url, name, utf8('{}'), OCI_EMPTY)
    const skeleton = manifestBytes(imageManifest(config, [], { annotations: { padding: '' } })).byteLength
    const big = imageManifest(config, [], { annotations: { padding: 'x'.repeat(4 * 1024 * 1024 - skeleton) } })
    expect(manifestBytes(big).byteLength).toBe(4 * 1024 * 1024)
    await pushManifest(origin.url, name, 'big', big)
  })

  it('a digest reference that does not match the body is 400 DIGEST_INVALID', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    const wrong = sha256(randomBytes(10))
    await expectOciError(await putManifest(origin.url, name, wrong, body), 'DIGEST_INVALID', 400)
    expect((await getManifest(name, wrong)).status).toBe(404)
    expect((await getManifest(name, sha256(body))).status).toBe(404)
  })
})

describe('subject and OCI-Subject', () => {
  it('a manifest with a subject answers OCI-Subject with the subject digest', async () => {
    const name = uniqueName()
    const subject = await pushImage(origin.url, name, 'image')
    const config = await pushBlob(origin.url, name, utf8('{}'), OCI_EMPTY)
    const { response } = await pushManifest(origin.url, name, 'sig', imageManifest(config, [], {
      artifactType: 'application/vnd.example.signature', subject,
    }))
    expect(response.headers.get('oci-subject')).toBe(subject.digest)
  })

  it('a manifest without a subject has no OCI-Subject header', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const { response } = await pushManifest(origin.url, name, 'plain', imageManifest(config, layers))
    expect(response.headers.get('oci-subject')).toBeNull()
  })

  it('a referrer may be pushed before its subject exists', async () => {
    const name = uniqueName()
    const config = await pushBlob(origin.url, name, utf8('{}'), OCI_EMPTY)
    const future = { mediaType: OCI_MANIFEST, digest: sha256(randomBytes(32)), size: 500 }
    const referrer = imageManifest(config, [], { artifactType: 'application/vnd.example.sbom', subject: future })
    const body = manifestBytes(referrer)
    const res = await putManifest(origin.url, name, sha256(body), body)
    expect(res.status).toBe(201)
    expect(res.headers.get('oci-subject')).toBe(future.digest)
  })
})
