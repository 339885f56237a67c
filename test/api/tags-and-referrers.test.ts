// distribution-spec end-8a/8b (tags list: lexical order, `n`, `last`, `Link`) and end-12a/12b
// (referrers: always 200 with an OCI image index, optionally filtered by artifactType).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import {
  OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, at, expectOciError, imageManifest, indexManifest, nextPage, pushBlob, pushImage,
  pushManifest, randomBytes, sha256, uniqueName, utf8, type Descriptor,
} from '../helpers/registry-client.ts'

let origin: TestOrigin
beforeAll(async () => { origin = await startTestOrigin() })
afterAll(() => origin?.close())

interface TagList { name: string; tags: string[] }
interface ReferrersIndex { schemaVersion: number; mediaType: string; manifests: Descriptor[] }

describe('tags list', () => {
  const name = uniqueName('tags')
  // Pushed in a scrambled order; lexical order is what the list must show.
  const TAGS = ['v2', 'latest', 'a', 'v1.0.0', 'b_1', '1.0', 'v1']

  beforeAll(async () => {
    const image = await pushImage(origin.url, name, TAGS[0]!)
    for (const tag of TAGS.slice(1)) {
      const res = await fetch(at(origin.url, `/v2/${name}/manifests/${image.digest}`))
      await pushManifest(origin.url, name, tag, new Uint8Array(await res.arrayBuffer()), OCI_MANIFEST)
    }
  })

  it('lists every tag in lexical order, with the repository name', async () => {
    const res = await fetch(at(origin.url, `/v2/${name}/tags/list`))
    expect(res.status).toBe(200)
    expect(res.headers.get('link')).toBeNull()
    expect(await res.json()).toEqual({ name, tags: [...TAGS].sort() })
  })

  it('pages with n, and Link rel="next" leads through every tag once', async () => {
    const sorted = [...TAGS].sort()
    const pages: string[][] = []
    let next: string | null = `/v2/${name}/tags/list?n=3`
    while (next) {
      const res = await fetch(at(origin.url, next))
      expect(res.status).toBe(200)
      pages.push((await res.json() as TagList).tags)
      next = nextPage(res)
    }
    expect(pages).toEqual([sorted.slice(0, 3), sorted.slice(3, 6), sorted.slice(6)])
  })

  it('`last` starts after that tag, exclusively, with or without n', async () => {
    const sorted = [...TAGS].sort()
    const withN = await fetch(at(origin.url, `/v2/${name}/tags/list?n=2&last=${sorted[1]}`))
    expect((await withN.json() as TagList).tags).toEqual(sorted.slice(2, 4))
    expect(nextPage(withN)).toBe(`/v2/${name}/tags/list?n=2&last=${encodeURIComponent(sorted[3]!)}`)
    const alone = await fetch(at(origin.url, `/v2/${name}/tags/list?last=${sorted[4]}`))
    expect((await alone.json() as TagList).tags).toEqual(sorted.slice(5))
  })

  it('n=0 is an empty list without Link; n larger than the list returns all without Link', async () => {
    const zero = await fetch(at(origin.url, `/v2/${name}/tags/list?n=0`))
    expect(await zero.json()).toEqual({ name, tags: [] })
    expect(zero.headers.get('link')).toBeNull()
    const many = await fetch(at(origin.url, `/v2/${name}/tags/list?n=100`))
    expect((await many.json() as TagList).tags).toHaveLength(TAGS.length)
    expect(many.headers.get('link')).toBeNull()
  })

  it('a repository with blobs but no tags lists none', async () => {
    const bare = uniqueName('tags')
    await pushBlob(origin.url, bare, randomBytes(8))
    const res = await fetch(at(origin.url, `/v2/${bare}/tags/list`))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ name: bare, tags: [] })
  })

  it('an unknown repository is 404 NAME_UNKNOWN', async () => {
    await expectOciError(await fetch(at(origin.url, `/v2/${uniqueName('nobody')}/tags/list`)), 'NAME_UNKNOWN', 404)
  })
})

describe('referrers', () => {
  async function referrersOf(name: string, digest: string, query = ''): Promise<{ res: Response; index: ReferrersIndex }> {
    const res = await fetch(at(origin.url, `/v2/${name}/referrers/${digest}${query}`))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(OCI_INDEX)
    return { res, index: await res.json() as ReferrersIndex }
  }

  /** An artifact manifest about `subject`, pushed by digest. */
  async function pushReferrer(name: string, subject: Descriptor, extra: Record<string, unknown>): Promise<Descriptor> {
    const config = await pushBlob(origin.url, name, utf8('{}'), OCI_EMPTY)
    const layer = await pushBlob(origin.url, name, randomBytes(16), 'application/vnd.example.payload')
    const manifest = imageManifest(config, [layer], { subject, ...extra })
    const body = utf8(JSON.stringify(manifest))
    const { response: _, ...descriptor } = await pushManifest(origin.url, name, sha256(body), body, OCI_MANIFEST)
    return descriptor
  }

  it('lists the manifests whose subject is the digest, as an OCI image index', async () => {
    const name = uniqueName('refs')
    const subject = await pushImage(origin.url, name, 'v1')
    const signature = await pushReferrer(name, subject, { artifactType: 'application/vnd.example.signature', annotations: { 'org.example.signer': 'alice' } })
    const sbom = await pushReferrer(name, subject, { artifactType: 'application/vnd.example.sbom' })
    const { res, index } = await referrersOf(name, subject.digest)
    expect(res.headers.get('oci-filters-applied')).toBeNull()
    expect(index.schemaVersion).toBe(2)
    expect(index.mediaType).toBe(OCI_INDEX)
    const byDigest = new Map(index.manifests.map((m) => [m.digest, m]))
    expect(byDigest.size).toBe(2)
    expect(byDigest.get(signature.digest)).toEqual({
      mediaType: OCI_MANIFEST, digest: signature.digest, size: signature.size,
      artifactType: 'application/vnd.example.signature', annotations: { 'org.example.signer': 'alice' },
    })
    expect(byDigest.get(sbom.digest)).toEqual({
      mediaType: OCI_MANIFEST, digest: sbom.digest, size: sbom.size, artifactType: 'application/vnd.example.sbom',
    })
  })

  it('uses the config mediaType as artifactType when the manifest has none', async () => {
    const name = uniqueName('refs')
    const subject = await pushImage(origin.url, name, 'v1')
    const config = await pushBlob(origin.url, name, utf8('{"kind":"attestation"}'), 'application/vnd.example.attestation.config')
    const { response: _, ...referrer } = await pushManifest(origin.url, name, 'att', imageManifest(config, [], { subject }))
    const { index } = await referrersOf(name, subject.digest)
    expect(index.manifests).toEqual([{ mediaType: OCI_MANIFEST, digest: referrer.digest, size: referrer.size, artifactType: 'application/vnd.example.attestation.config' }])
  })

  it('lists an image index that has a subject', async () => {
    const name = uniqueName('refs')
    const subject = await pushImage(origin.url, name, 'v1')
    const child = await pushImage(origin.url, name, 'child')
    const index = await pushManifest(origin.url, name, 'bundle', indexManifest([child], { subject, artifactType: 'application/vnd.example.bundle' }))
    const { index: referrers } = await referrersOf(name, subject.digest)
    expect(referrers.manifests).toEqual([{ mediaType: OCI_INDEX, digest: index.digest, size: index.size, artifactType: 'application/vnd.example.bundle' }])
  })

  it('?artifactType= filters and says so in OCI-Filters-Applied', async () => {
    const name = uniqueName('refs')
    const subject = await pushImage(origin.url, name, 'v1')
    const signature = await pushReferrer(name, subject, { artifactType: 'application/vnd.example.signature' })
    await pushReferrer(name, subject, { artifactType: 'application/vnd.example.sbom' })
    const { res, index } = await referrersOf(name, subject.digest, `?artifactType=${encodeURIComponent('application/vnd.example.signature')}`)
    expect(res.headers.get('oci-filters-applied')).toBe('artifactType')
    expect(index.manifests.map((m) => m.digest)).toEqual([signature.digest])
    const none = await referrersOf(name, subject.digest, '?artifactType=application/vnd.example.nothing')
    expect(none.index.manifests).toEqual([])
    expect(none.res.headers.get('oci-filters-applied')).toBe('artifactType')
  })

  it('an empty ?artifactType= is no filter at all', async () => {
    const name = uniqueName('refs')
    const subject = await pushImage(origin.url, name, 'v1')
    await pushReferrer(name, subject, { artifactType: 'application/vnd.example.signature' })
    const { res, index } = await referrersOf(name, subject.digest, '?artifactType=')
    expect(index.manifests).toHaveLength(1)
    expect(res.headers.get('oci-filters-applied')).toBeNull()
  })

  it('a referrer pushed before its subject is listed once the digest is asked for', async () => {
    const name = uniqueName('refs')
    const future: Descriptor = { mediaType: OCI_MANIFEST, digest: sha256(randomBytes(20)), size: 300 }
    const referrer = await pushReferrer(name, future, { artifactType: 'application/vnd.example.signature' })
    const { index } = await referrersOf(name, future.digest)
    expect(index.manifests.map((m) => m.digest)).toEqual([referrer.digest])
  })

  it('an unknown subject answers 200 with an empty manifests list', async () => {
    const name = uniqueName('refs')
    await pushImage(origin.url, name, 'v1')
    const { index } = await referrersOf(name, sha256(randomBytes(8)))
    expect(index).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })
  })

  it('an unknown repository answers 200 with an empty manifests list too', async () => {
    const { index } = await referrersOf(uniqueName('nobody'), sha256(randomBytes(8)))
    expect(index.manifests).toEqual([])
  })

  it('is updated when a referrer is deleted', async () => {
    const name = uniqueName('refs')
    const subject = await pushImage(origin.url, name, 'v1')
    const keep = await pushReferrer(name, subject, { artifactType: 'application/vnd.example.signature' })
    const drop = await pushReferrer(name, subject, { artifactType: 'application/vnd.example.sbom' })
    expect((await referrersOf(name, subject.digest)).index.manifests).toHaveLength(2)
    expect((await fetch(at(origin.url, `/v2/${name}/manifests/${drop.digest}`), { method: 'DELETE' })).status).toBe(202)
    const { index } = await referrersOf(name, subject.digest)
    expect(index.manifests.map((m) => m.digest)).toEqual([keep.digest])
  })

  it('does not list referrers from another repository', async () => {
    const a = uniqueName('refs')
    const b = uniqueName('refs')
    const subject = await pushImage(origin.url, a, 'v1')
    await pushReferrer(b, subject, { artifactType: 'application/vnd.example.signature' })
    expect((await referrersOf(a, subject.digest)).index.manifests).toEqual([])
    expect((await referrersOf(b, subject.digest)).index.manifests).toHaveLength(1)
  })

  it('an invalid digest is 400 DIGEST_INVALID', async () => {
    const name = uniqueName('refs')
    await pushImage(origin.url, name, 'v1')
    await expectOciError(await fetch(at(origin.url, `/v2/${name}/referrers/sha256:xyz`)), 'DIGEST_INVALID', 400)
    await expectOciError(await fetch(at(origin.url, `/v2/${name}/referrers/latest`)), 'DIGEST_INVALID', 400)
  })
})
