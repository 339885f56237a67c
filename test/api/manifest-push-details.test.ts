// distribution-spec details of a manifest PUT (end-7) beyond the basics in manifests.test.ts:
// foreign (non-distributable) layers, `?tag=` with OCI-Tag (distribution-spec main), manifests
// stored under sha512, and sparse image indexes where a namespace allows them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import {
  OCI_MANIFEST, at, bytesOf, expectOciError, imageManifest, indexManifest, manifestBytes, pushImage, pushImageBlobs,
  putManifest, randomBytes, sha256, sha512, uniqueName, type Descriptor,
} from '../helpers/registry-client.ts'
import { manifestReferences } from '../../db/schema.ts'
import { placementsOf } from '../../db/queries/placements.ts'
import { findRepository } from '../../db/queries/repositories.ts'
import { blobKey } from '../../storage/keys.ts'

let origin: TestOrigin
beforeAll(async () => {
  // `mirror/*` accepts sparse indexes; every other namespace keeps the default (off).
  origin = await startTestOrigin({
    edit: (c) => ({ ...c, namespaces: [...c.namespaces, { namespace: 'mirror', extraLocations: [], residency: null, allowSparseIndexes: true }] }),
  })
})
afterAll(() => origin?.close())

function get(name: string, path: string, method = 'GET'): Promise<Response> {
  return fetch(at(origin.url, `/v2/${name}/${path}`), { method })
}

function putWithTags(name: string, reference: string, body: Uint8Array<ArrayBuffer>, tags: string[]): Promise<Response> {
  const query = tags.map((t) => `tag=${encodeURIComponent(t)}`).join('&')
  return fetch(at(origin.url, `/v2/${name}/manifests/${reference}?${query}`), { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body })
}

async function tagsOf(name: string): Promise<string[]> {
  const res = await get(name, 'tags/list')
  return res.status === 200 ? ((await res.json()) as { tags: string[] }).tags : []
}

/** The manifest_references rows of a manifest in a repository: what it is recorded to reference. */
async function referencesOf(name: string, digest: string) {
  const repository = await findRepository(origin.db, name)
  if (!repository) return []
  return origin.db.select({ target: manifestReferences.targetDigest, kind: manifestReferences.kind }).from(manifestReferences)
    .where(and(eq(manifestReferences.repositoryId, repository.id), eq(manifestReferences.manifestDigest, digest))).all()
}

const foreign = (mediaType: string, extra: Record<string, unknown> = {}): Descriptor =>
  ({ mediaType, digest: sha256(randomBytes(16)), size: 1234, ...extra })

describe('foreign (non-distributable) layers', () => {
  it('accepts non-distributable layers that were never pushed, of every such media type', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const foreignLayers = [
      foreign('application/vnd.oci.image.layer.nondistributable.v1.tar'),
      foreign('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'),
      foreign('application/vnd.oci.image.layer.nondistributable.v1.tar+zstd'),
      foreign('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', { urls: ['https://mcr.microsoft.com/v2/windows/blobs/x'] }),
    ]
    const body = manifestBytes(imageManifest(config, [...foreignLayers, ...layers]))
    const res = await putManifest(origin.url, name, 'windows', body)
    expect(res.status, await res.clone().text()).toBe(201)
    expect(await bytesOf(await get(name, 'manifests/windows'))).toEqual(body)
    // Not linked: the registry does not claim to hold bytes it never received.
    for (const layer of foreignLayers) await expectOciError(await get(name, `blobs/${layer.digest}`), 'BLOB_UNKNOWN', 404)
    expect((await referencesOf(name, sha256(body))).map((r) => r.target).sort()).toEqual([config.digest, ...layers.map((l) => l.digest)].sort())
  })

  it('accepts an ordinary layer type that carries urls without the blob', async () => {
    const name = uniqueName()
    const { config } = await pushImageBlobs(origin.url, name, { layers: 0 })
    const hosted = foreign('application/vnd.oci.image.layer.v1.tar+gzip', { urls: ['https://example.com/layer.tar.gz'] })
    expect((await putManifest(origin.url, name, 'hosted', imageManifest(config, [hosted]))).status).toBe(201)
  })

  it('references a foreign layer that the repository does hold', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const pushed = { ...layers[0]!, mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' }
    const body = manifestBytes(imageManifest(config, [pushed]))
    expect((await putManifest(origin.url, name, 'held', body)).status).toBe(201)
    expect((await referencesOf(name, sha256(body))).map((r) => r.target).sort()).toEqual([config.digest, pushed.digest].sort())
  })

  it('still requires the config and every ordinary layer beside foreign ones', async () => {
    const name = uniqueName()
    const { config } = await pushImageBlobs(origin.url, name, { layers: 0 })
    const missing = foreign('application/vnd.oci.image.layer.v1.tar+gzip')
    const res = await putManifest(origin.url, name, 'x', imageManifest(config, [foreign('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'), missing]))
    const body = await expectOciError(res, 'MANIFEST_BLOB_UNKNOWN', 400)
    expect(body.errors[0]!.detail).toEqual({ digests: [missing.digest] })
    const noConfig = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(randomBytes(5)), size: 5, urls: ['https://example.com/c'] }
    await expectOciError(await putManifest(origin.url, name, 'x', imageManifest(noConfig, [])), 'MANIFEST_BLOB_UNKNOWN', 400)
  })
})

describe('PUT by digest with ?tag= (distribution-spec main)', () => {
  it('stores the manifest and applies every tag, answering an OCI-Tag value per tag', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    const res = await putWithTags(name, sha256(body), body, ['1.2.3', '1.2', '1', 'latest', '1.2'])
    expect(res.status, await res.clone().text()).toBe(201)
    expect(res.headers.get('oci-tag')!.split(/,\s*/)).toEqual(['1.2.3', '1.2', '1', 'latest'])
    expect(res.headers.get('docker-content-digest')).toBe(sha256(body))
    expect(await tagsOf(name)).toEqual(['1', '1.2', '1.2.3', 'latest'])
    for (const tag of ['1', '1.2', '1.2.3', 'latest']) {
      expect((await get(name, `manifests/${tag}`)).headers.get('docker-content-digest'), tag).toBe(sha256(body))
    }
  })

  it('a PUT by digest without ?tag= answers no OCI-Tag and tags nothing', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    const res = await putManifest(origin.url, name, sha256(body), body)
    expect(res.status).toBe(201)
    expect(res.headers.get('oci-tag')).toBeNull()
    expect(await tagsOf(name)).toEqual([])
  })

  it('a PUT by tag answers OCI-Tag for its tag, and applies ?tag= values too', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    const res = await putWithTags(name, 'v1', body, ['stable', 'v1'])
    expect(res.status).toBe(201)
    expect(res.headers.get('oci-tag')!.split(/,\s*/)).toEqual(['v1', 'stable'])
    expect(await tagsOf(name)).toEqual(['stable', 'v1'])
  })

  it('moves an existing tag along with new ones', async () => {
    const name = uniqueName()
    const old = await pushImage(origin.url, name, 'latest')
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    expect((await putWithTags(name, sha256(body), body, ['latest', 'v2'])).status).toBe(201)
    expect((await get(name, 'manifests/latest')).headers.get('docker-content-digest')).toBe(sha256(body))
    expect((await get(name, `manifests/${old.digest}`)).status).toBe(200)
  })

  it('an invalid ?tag= value is 400 MANIFEST_INVALID and nothing is stored or tagged', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    for (const bad of ['', '.hidden', '-dash', 'a'.repeat(129), 'has space', 'sha256:abc']) {
      const res = await putWithTags(name, sha256(body), body, ['good', bad])
      const error = await expectOciError(res, 'MANIFEST_INVALID', 400)
      expect(error.errors[0]!.detail, bad).toEqual({ tag: bad })
    }
    expect((await get(name, `manifests/${sha256(body)}`)).status).toBe(404)
    expect(await tagsOf(name)).toEqual([])
  })

  it('a refused manifest applies none of its tags', async () => {
    const name = uniqueName()
    const { config } = await pushImageBlobs(origin.url, name, { layers: 0 })
    const body = manifestBytes(imageManifest(config, [foreign('application/vnd.oci.image.layer.v1.tar+gzip')]))
    await expectOciError(await putWithTags(name, sha256(body), body, ['a', 'b']), 'MANIFEST_BLOB_UNKNOWN', 400)
    expect(await tagsOf(name)).toEqual([])
  })

  it('takes 100 tags in one push and answers 414 past that', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    const many = Array.from({ length: 100 }, (_, i) => `t${i}`)
    const res = await putWithTags(name, sha256(body), body, many)
    expect(res.status).toBe(201)
    expect(res.headers.get('oci-tag')!.split(/,\s*/)).toHaveLength(100)
    expect((await tagsOf(name)).length).toBe(100)
    await expectOciError(await putWithTags(name, sha256(body), body, [...many, 'one-more']), 'MANIFEST_INVALID', 414)
  })
})

describe('manifests stored under sha512', () => {
  it('answers, stores, places and serves the manifest under its sha512 digest, tags included', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    const digest = sha512(body)
    const res = await putWithTags(name, digest, body, ['sha512-tag'])
    expect(res.status, await res.clone().text()).toBe(201)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    expect(res.headers.get('location')).toBe(`/v2/${name}/manifests/${digest}`)
    expect(res.headers.get('oci-tag')).toBe('sha512-tag')

    for (const reference of [digest, 'sha512-tag']) {
      const got = await get(name, `manifests/${reference}`)
      expect(got.headers.get('docker-content-digest'), reference).toBe(digest)
      expect(await bytesOf(got)).toEqual(body)
    }
    // Linked as a blob under that digest, stored at its sha512 content key, placement recorded.
    expect(await bytesOf(await get(name, `blobs/${digest}`))).toEqual(body)
    const placements = await placementsOf(origin.db, digest)
    expect(placements.map((p) => p.state)).toEqual(['present'])
    const stored = await origin.locations.get(placements[0]!.location)!.engine.stat(blobKey(digest))
    expect(blobKey(digest)).toMatch(/^blobs\/sha512\//)
    expect(stored?.size).toBe(body.byteLength)
    // Nothing was stored under the sha256 of the same bytes.
    expect((await get(name, `manifests/${sha256(body)}`)).status).toBe(404)
    expect(await placementsOf(origin.db, sha256(body))).toEqual([])
  })

  it('a sha512 reference that does not match the body is 400 DIGEST_INVALID', async () => {
    const name = uniqueName()
    const { config, layers } = await pushImageBlobs(origin.url, name)
    const body = manifestBytes(imageManifest(config, layers))
    await expectOciError(await putManifest(origin.url, name, sha512(randomBytes(8)), body), 'DIGEST_INVALID', 400)
  })
})

describe('sparse image indexes', () => {
  async function sparseIndex(name: string) {
    const present = await pushImage(origin.url, name, 'amd64')
    const absent = { mediaType: OCI_MANIFEST, digest: sha256(randomBytes(32)), size: 321 }
    const body = manifestBytes(indexManifest([
      { ...present, platform: { architecture: 'amd64', os: 'linux' } },
      { ...absent, platform: { architecture: 'arm64', os: 'linux' } },
    ]))
    return { present, absent, body }
  }

  it('are refused with MANIFEST_BLOB_UNKNOWN where the namespace does not allow them (the default)', async () => {
    const name = uniqueName('strict')
    const { absent, body } = await sparseIndex(name)
    const error = await expectOciError(await putManifest(origin.url, name, 'multi', body, 'application/vnd.oci.image.index.v1+json'), 'MANIFEST_BLOB_UNKNOWN', 400)
    expect(error.errors[0]!.detail).toEqual({ digests: [absent.digest] })
    expect((await get(name, 'manifests/multi')).status).toBe(404)
  })

  it('are accepted where the namespace allows them; children that exist are still referenced', async () => {
    const name = uniqueName('mirror')
    const { present, body } = await sparseIndex(name)
    const res = await putManifest(origin.url, name, 'multi', body, 'application/vnd.oci.image.index.v1+json')
    expect(res.status, await res.clone().text()).toBe(201)
    expect(await bytesOf(await get(name, 'manifests/multi'))).toEqual(body)
    expect(await referencesOf(name, sha256(body))).toEqual([{ target: present.digest, kind: 'manifest' }])
  })

  it('may be the first push into a new repository of such a namespace, none of its children there', async () => {
    const name = uniqueName('mirror')
    const body = manifestBytes(indexManifest([{ mediaType: OCI_MANIFEST, digest: sha256(randomBytes(32)), size: 99 }]))
    const res = await putManifest(origin.url, name, sha256(body), body, 'application/vnd.oci.image.index.v1+json')
    expect(res.status, await res.clone().text()).toBe(201)
    expect(await referencesOf(name, sha256(body))).toEqual([])
  })

  it('still need every blob of an image manifest where the namespace allows sparse indexes', async () => {
    const name = uniqueName('mirror')
    const { config } = await pushImageBlobs(origin.url, name, { layers: 0 })
    await expectOciError(await putManifest(origin.url, name, 'x', imageManifest(config, [foreign('application/vnd.oci.image.layer.v1.tar+gzip')])), 'MANIFEST_BLOB_UNKNOWN', 400)
  })
})
