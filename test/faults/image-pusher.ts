// Seeded images pushed the three ways clients push layers (monolithic POST ?digest=, chunked
// PATCHes with Content-Range, one streamed PATCH), and pulled back to compare. Pushes here may
// fail at any step (the origin is being killed): they throw, and only a 201 on the manifest PUT
// makes an image acknowledged.

import { createCipheriv, createHash } from 'node:crypto'
import { OCI_IMAGE_CONFIG } from '../../oci/media-types.ts'
import {
  at, closeUpload, imageManifest, manifestBytes, OCI_LAYER, patchChunk, putManifest, sha256, utf8, type Bytes, type Descriptor,
} from '../helpers/registry-client.ts'
import { seededRandom } from '../helpers/seeded-random.ts'

/** `size` bytes determined by `seed` (AES-128-CTR over zeros: fast and incompressible). */
export function seededBytes(seed: string, size: number): Bytes {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  const out = new Uint8Array(size)
  out.set(cipher.update(Buffer.alloc(size)))
  return out
}

export type PushStyle = 'monolithic' | 'chunked' | 'streamed'
export const PUSH_STYLES: readonly PushStyle[] = ['monolithic', 'chunked', 'streamed']

export interface AckedImage {
  name: string
  tag: string
  manifest: Bytes
  digest: string
  /** Config and layers. */
  blobs: Descriptor[]
}

async function expectStatus(res: Response, status: number, what: string): Promise<void> {
  const body = await res.text()
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${body.slice(0, 300)}`)
}

/** Pushes one blob `style`'s way; `chunk` is the PATCH size of a chunked push. */
export async function pushBlobAs(base: string, name: string, bytes: Bytes, style: PushStyle, chunk: number): Promise<string> {
  const digest = sha256(bytes)
  if (style === 'monolithic') {
    const res = await fetch(at(base, `/v2/${name}/blobs/uploads/?digest=${digest}`), { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes })
    await expectStatus(res, 201, `monolithic push of ${digest}`)
    return digest
  }
  const opened = await fetch(at(base, `/v2/${name}/blobs/uploads/`), { method: 'POST' })
  await expectStatus(opened, 202, 'POST upload')
  let location = at(base, opened.headers.get('location')!)
  if (style === 'streamed') {
    // No Content-Range: the whole layer in one PATCH, as docker and containerd send it.
    const res = await fetch(location, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes })
    await expectStatus(res, 202, 'streamed PATCH')
    location = at(base, res.headers.get('location')!)
  } else {
    for (let offset = 0; offset < bytes.byteLength; offset += chunk) {
      const res = await patchChunk(location, bytes.subarray(offset, offset + chunk), offset)
      await expectStatus(res, 202, `PATCH at ${offset}`)
      location = at(base, res.headers.get('location')!)
    }
  }
  await expectStatus(await closeUpload(location, digest), 201, `PUT ?digest=${digest}`)
  return digest
}

/**
 * Pushes an image of `layers` seeded layers (each pushed its own way) plus a config, then its
 * manifest under `tag`. Resolves only on 201 for the manifest.
 */
export async function pushSeededImage(base: string, name: string, tag: string, layers: Array<{ size: number; style: PushStyle; chunk: number }>): Promise<AckedImage> {
  const config = utf8(JSON.stringify({ architecture: 'amd64', os: 'linux', tag: `${name}:${tag}` }))
  const blobs: Descriptor[] = [{ mediaType: OCI_IMAGE_CONFIG, digest: await pushBlobAs(base, name, config, 'monolithic', 0), size: config.byteLength }]
  for (const [i, layer] of layers.entries()) {
    const bytes = seededBytes(`${name}:${tag}:${i}`, layer.size)
    blobs.push({ mediaType: OCI_LAYER, digest: await pushBlobAs(base, name, bytes, layer.style, layer.chunk), size: layer.size })
  }
  const manifest = manifestBytes(imageManifest(blobs[0]!, blobs.slice(1)))
  await expectStatus(await putManifest(base, name, tag, manifest), 201, `manifest PUT ${name}:${tag}`)
  return { name, tag, manifest, digest: sha256(manifest), blobs }
}

/** What differs between the image as acknowledged and as pulled now (manifest by tag and by digest, every blob); empty when identical. */
export async function pullDifferences(base: string, image: AckedImage): Promise<string[]> {
  const problems: string[] = []
  const ref = `${image.name}:${image.tag}`
  for (const reference of [image.tag, image.digest]) {
    const res = await fetch(at(base, `/v2/${image.name}/manifests/${reference}`), { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
    const got = new Uint8Array(await res.arrayBuffer())
    if (res.status !== 200 || Buffer.compare(got, image.manifest) !== 0) problems.push(`${ref}: manifest ${reference} answers ${res.status} with other bytes`)
  }
  for (const blob of image.blobs) {
    const res = await fetch(at(base, `/v2/${image.name}/blobs/${blob.digest}`))
    const hash = createHash('sha256')
    let size = 0
    for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) { hash.update(chunk); size += chunk.byteLength }
    if (res.status !== 200 || size !== blob.size || `sha256:${hash.digest('hex')}` !== blob.digest) problems.push(`${ref}: blob ${blob.digest} answers ${res.status}, ${size} bytes, other content`)
  }
  return problems
}
