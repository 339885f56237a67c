// The behavioural pull suite (like storage/conformance.ts for drivers): one set of tests that
// every pull side must pass, the origin itself and the edge in every runtime. Images are pushed
// to the origin; every read is asked of `pull` and, where the answer is content, compared byte
// for byte with the origin's answer to the same request.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  OCI_INDEX, OCI_MANIFEST, at, bytesOf, expectOciError, imageManifest, indexManifest, nextPage, pushBlob, pushImageBlobs,
  pushManifest, randomBytes, uniqueName, utf8, type Descriptor,
} from '../helpers/registry-client.ts'

export interface PullTarget {
  /** Where images are pushed (the origin). */
  origin: string
  /** Where they are pulled (the origin again, or an edge). */
  pull: string
  /** Resolves once everything pushed to the origin so far is visible at `pull` (an edge's index). */
  settle(): Promise<void>
  close(): Promise<void>
}

const IMMUTABLE = 'max-age=31536000, immutable'
const COMPARED_HEADERS = ['content-type', 'content-length', 'docker-content-digest', 'docker-distribution-api-version', 'cache-control', 'link', 'oci-filters-applied', 'content-range']

/** Status, the headers a client relies on, and the body of an answer. */
async function answer(res: Response) {
  const headers = Object.fromEntries(COMPARED_HEADERS.map((h) => [h, res.headers.get(h)]))
  return { status: res.status, headers, body: new TextDecoder('latin1').decode(await bytesOf(res)) }
}

export function definePullSuite(label: string, start: () => Promise<PullTarget>): void {
  describe(`pull suite: ${label}`, () => {
    let t: PullTarget
    const name = uniqueName('pull')
    const other = uniqueName('pull-other')
    let image: Descriptor & { response: Response }
    let layer: Descriptor
    let layerBytes: Uint8Array
    let index: Descriptor & { response: Response }
    let referrer: Descriptor & { response: Response }

    beforeAll(async () => {
      t = await start()
      layerBytes = randomBytes(4096)
      layer = await pushBlob(t.origin, name, layerBytes as Uint8Array<ArrayBuffer>)
      const { config } = await pushImageBlobs(t.origin, name, { layers: 0 })
      image = await pushManifest(t.origin, name, 'v1', imageManifest(config, [layer]))
      for (const tag of ['a', 'b', 'c']) await pushManifest(t.origin, name, tag, imageManifest(config, [layer]))
      const amd64 = { ...image, platform: { os: 'linux', architecture: 'amd64' } }
      index = await pushManifest(t.origin, name, 'multi', indexManifest([{ mediaType: amd64.mediaType, digest: amd64.digest, size: amd64.size, platform: amd64.platform } as Descriptor]))
      const empty = await pushBlob(t.origin, name, utf8('{}'), 'application/vnd.oci.empty.v1+json')
      referrer = await pushManifest(t.origin, name, 'sig', imageManifest(empty, [], { artifactType: 'application/example', subject: { mediaType: OCI_MANIFEST, digest: image.digest, size: image.size } }))
      await pushImageBlobs(t.origin, other, { layers: 1 })
      await t.settle()
    }, 60_000)
    afterAll(() => t?.close())

    /** Asks the same request of the origin and the pull side; expects the same answer. Asked
     * without compression: workerd (like Cloudflare) gzips JSON for a client that accepts it,
     * which changes the framing (chunked, no Content-Length), not the answer. */
    async function same(path: string, init: RequestInit = {}) {
      const ask = { ...init, headers: { 'accept-encoding': 'identity', ...(init.headers as Record<string, string> | undefined) } }
      const [want, got] = await Promise.all([fetch(at(t.origin, path), ask).then(answer), fetch(at(t.pull, path), ask).then(answer)])
      expect(got, `${init.method ?? 'GET'} ${path}`).toEqual(want)
      return got
    }

    it('answers the ping /v2/ like the origin', async () => {
      const got = await same('/v2/')
      expect(got.status).toBe(200)
      expect(got.headers['docker-distribution-api-version']).toBe('registry/2.0')
    })

    it('serves a manifest by tag and by digest, GET and HEAD, byte for byte', async () => {
      const byTag = await same(`/v2/${name}/manifests/v1`, { headers: { Accept: OCI_MANIFEST } })
      expect(byTag.status).toBe(200)
      expect(byTag.headers['docker-content-digest']).toBe(image.digest)
      expect(byTag.headers['cache-control']).toBe('no-cache')
      const byDigest = await same(`/v2/${name}/manifests/${image.digest}`)
      expect(byDigest.headers['cache-control']).toBe(IMMUTABLE)
      const head = await same(`/v2/${name}/manifests/v1`, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.body).toBe('')
      expect(head.headers['content-length']).toBe(String(image.size))
    })

    it('answers an index by tag with its linux/amd64 image to a client that accepts no index', async () => {
      const asked = await same(`/v2/${name}/manifests/multi`, { headers: { Accept: OCI_MANIFEST } })
      expect(asked.headers['docker-content-digest']).toBe(image.digest)
      const whole = await same(`/v2/${name}/manifests/multi`, { headers: { Accept: `${OCI_MANIFEST}, ${OCI_INDEX}` } })
      expect(whole.headers['docker-content-digest']).toBe(index.digest)
    })

    it('serves blob bytes (GET) and their size and digest (HEAD)', async () => {
      const res = await fetch(at(t.pull, `/v2/${name}/blobs/${layer.digest}`))
      expect(res.status).toBe(200)
      expect(await bytesOf(res)).toEqual(layerBytes)
      await same(`/v2/${name}/blobs/${layer.digest}`, { method: 'HEAD' })
      const head = await fetch(at(t.pull, `/v2/${name}/blobs/${layer.digest}`), { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.headers.get('content-length')).toBe(String(layerBytes.byteLength))
      expect(head.headers.get('docker-content-digest')).toBe(layer.digest)
      expect(head.headers.get('cache-control')).toBe(IMMUTABLE)
    })

    it('serves byte ranges with 206 and refuses unsatisfiable ones with 416 bytes */size', async () => {
      const res = await fetch(at(t.pull, `/v2/${name}/blobs/${layer.digest}`), { headers: { Range: 'bytes=100-199' } })
      expect(res.status).toBe(206)
      expect(res.headers.get('content-range')).toBe(`bytes 100-199/${layerBytes.byteLength}`)
      expect(await bytesOf(res)).toEqual(layerBytes.subarray(100, 200))
      for (const range of [`bytes=${layerBytes.byteLength}-`, 'bytes=-0']) {
        const refused = await fetch(at(t.pull, `/v2/${name}/blobs/${layer.digest}`), { headers: { Range: range } })
        expect(refused.status, range).toBe(416)
        expect(refused.headers.get('content-range')).toBe(`bytes */${layerBytes.byteLength}`)
        await refused.body?.cancel()
      }
    })

    it('serves a blob only in a repository it is linked to', async () => {
      await expectOciError(await fetch(at(t.pull, `/v2/${other}/blobs/${layer.digest}`)), 'BLOB_UNKNOWN', 404)
      expect((await fetch(at(t.pull, `/v2/${other}/blobs/${layer.digest}`), { method: 'HEAD' })).status).toBe(404)
      await same(`/v2/${other}/blobs/${layer.digest}`)
    })

    it('answers unknown names, tags, digests and invalid references like the origin', async () => {
      const unknown = `sha256:${'0'.repeat(64)}`
      await expectOciError(await fetch(at(t.pull, `/v2/${name}/manifests/nope`)), 'MANIFEST_UNKNOWN', 404)
      await expectOciError(await fetch(at(t.pull, `/v2/${name}/manifests/${unknown}`)), 'MANIFEST_UNKNOWN', 404)
      await expectOciError(await fetch(at(t.pull, `/v2/${name}/manifests/.INVALID_MANIFEST_NAME`)), 'MANIFEST_UNKNOWN', 404)
      await expectOciError(await fetch(at(t.pull, `/v2/never/pushed/manifests/v1`)), 'NAME_UNKNOWN', 404)
      await expectOciError(await fetch(at(t.pull, `/v2/never/pushed/tags/list`)), 'NAME_UNKNOWN', 404)
      await expectOciError(await fetch(at(t.pull, `/v2/${name}/blobs/sha256:xyz`)), 'DIGEST_INVALID', 400)
      await expectOciError(await fetch(at(t.pull, `/v2/Bad_Name/manifests/v1`)), 'NAME_INVALID', 400)
      for (const path of [`/v2/${name}/manifests/nope`, `/v2/${name}/blobs/${unknown}`, '/v2/never/pushed/manifests/v1', `/v2/${name}/tags/list?n=x`]) await same(path)
    })

    it('lists tags in lexical order with n, last and Link, like the origin', async () => {
      const all = await same(`/v2/${name}/tags/list`)
      expect(JSON.parse(all.body)).toEqual({ name, tags: ['a', 'b', 'c', 'multi', 'sig', 'v1'] })
      const page = await same(`/v2/${name}/tags/list?n=2&last=a`)
      expect(JSON.parse(page.body).tags).toEqual(['b', 'c'])
      const res = await fetch(at(t.pull, `/v2/${name}/tags/list?n=2&last=a`))
      expect(nextPage(res)).toBe(`/v2/${name}/tags/list?n=2&last=c`)
      await res.body?.cancel()
    })

    it('lists the catalog like the origin', async () => {
      const got = await same(`/v2/_catalog?n=1&last=${encodeURIComponent(name.slice(0, -1))}`)
      expect(JSON.parse(got.body).repositories).toEqual([name])
    })

    it('lists referrers, filtered by artifactType, like the origin', async () => {
      const got = await same(`/v2/${name}/referrers/${image.digest}`)
      expect(JSON.parse(got.body).manifests.map((m: Descriptor) => m.digest)).toEqual([referrer.digest])
      const filtered = await same(`/v2/${name}/referrers/${image.digest}?artifactType=application/other`)
      expect(JSON.parse(filtered.body).manifests).toEqual([])
      expect(filtered.headers['oci-filters-applied']).toBe('artifactType')
    })

    it('follows a tag moved and a manifest deleted at the origin', async () => {
      const { config } = await pushImageBlobs(t.origin, name, { layers: 0 })
      const moved = await pushManifest(t.origin, name, 'a', imageManifest(config, [layer]))
      const gone = await pushManifest(t.origin, name, 'gone', imageManifest(config, [layer], { annotations: { n: '1' } }))
      await t.settle()
      expect((await fetch(at(t.pull, `/v2/${name}/manifests/gone`), { method: 'HEAD' })).status).toBe(200)
      expect((await fetch(at(t.origin, `/v2/${name}/manifests/${gone.digest}`), { method: 'DELETE' })).status).toBe(202)
      await t.settle()
      const a = await fetch(at(t.pull, `/v2/${name}/manifests/a`), { method: 'HEAD' })
      expect(a.headers.get('docker-content-digest')).toBe(moved.digest)
      await expectOciError(await fetch(at(t.pull, `/v2/${name}/manifests/gone`)), 'MANIFEST_UNKNOWN', 404)
    })
  })
}
