// Images that share layers, as real ones share their base: a pool of base layers every image
// draws a few from, plus a config and one layer of its own. Pushed over HTTP the three ways
// clients push (test/faults/image-pusher.ts), or by skopeo from an OCI layout holding the very same
// bytes; only a 201 on the manifest PUT (skopeo: its success) acknowledges one.

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { OCI_IMAGE_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../../oci/media-types.ts'
import { dockerRef, PUSH_FLAGS, skopeo } from '../helpers/skopeo.ts'
import { imageManifest, manifestBytes, OCI_LAYER, putManifest, sha256, utf8, type Bytes, type Descriptor } from '../helpers/registry-client.ts'
import { PUSH_STYLES, pushBlobAs, seededBytes, type AckedImage, type PushStyle } from '../faults/image-pusher.ts'

export interface ImagePlan {
  name: string
  tag: string
  /** Config first, then layers, each with the way it is pushed. */
  blobs: Array<{ bytes: Bytes; mediaType: string; style: PushStyle; chunk: number }>
}

/** `count` base layers of 4 KiB to 256 KiB, the same for a given seed. */
export function baseLayers(count: number, random: () => number): Bytes[] {
  return Array.from({ length: count }, (_, i) => seededBytes(`base-${i}`, Math.floor(4096 + random() * (256 - 4) * 1024)))
}

/** Image `i`: `shared` layers drawn from `base`, then one of its own (4 KiB to 256 KiB). */
export function planImage(i: number, base: Bytes[], shared: number, random: () => number): ImagePlan {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!
  const picked = [...base.keys()].sort(() => random() - 0.5).slice(0, shared).map((k) => base[k]!)
  const layers = [...picked, seededBytes(`image-${i}`, Math.floor(4096 + random() * (256 - 4) * 1024))]
  const config = utf8(JSON.stringify({ architecture: 'amd64', os: 'linux', image: i }))
  return {
    name: `chaos/app-${i % 7}`,
    tag: `v${i}`,
    blobs: [
      { bytes: config, mediaType: OCI_IMAGE_CONFIG, style: 'monolithic', chunk: 0 },
      ...layers.map((bytes) => ({ bytes, mediaType: OCI_LAYER, style: pick(PUSH_STYLES), chunk: pick([64 * 1024, 128 * 1024]) })),
    ],
  }
}

/** How long each blob push and each manifest PUT took (whatever their answer), in ms. */
export interface PushTimings { blobMs: number[]; manifestMs: number[] }

/** Pushes every blob, then the manifest; resolves on a 201 for it, throws on anything else. */
export async function pushPlannedImage(base: string, plan: ImagePlan, timings?: PushTimings): Promise<AckedImage> {
  const blobs: Descriptor[] = []
  for (const b of plan.blobs) {
    const started = performance.now()
    blobs.push({ mediaType: b.mediaType, digest: await pushBlobAs(base, plan.name, b.bytes, b.style, b.chunk), size: b.bytes.byteLength })
    timings?.blobMs.push(performance.now() - started)
  }
  const manifest = manifestBytes(imageManifest(blobs[0]!, blobs.slice(1)))
  const started = performance.now()
  const res = await putManifest(base, plan.name, plan.tag, manifest)
  const body = await res.text()
  timings?.manifestMs.push(performance.now() - started)
  if (res.status !== 201) throw new Error(`manifest PUT ${plan.name}:${plan.tag}: expected 201, got ${res.status}: ${body.slice(0, 300)}`)
  return { name: plan.name, tag: plan.tag, manifest, digest: sha256(manifest), blobs }
}

/**
 * The same image pushed by skopeo (`copy --preserve-digests` from an OCI layout written to `dir`):
 * the manifest bytes are the ones pushPlannedImage would send, so pulls compare alike.
 */
export async function pushPlannedImageWithSkopeo(base: string, plan: ImagePlan, dir: string): Promise<AckedImage> {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true })
  const blobs: Descriptor[] = plan.blobs.map((b) => ({ mediaType: b.mediaType, digest: sha256(b.bytes), size: b.bytes.byteLength }))
  const manifest = manifestBytes(imageManifest(blobs[0]!, blobs.slice(1)))
  const digest = sha256(manifest)
  for (const [bytes, d] of [...plan.blobs.map((b, i) => [b.bytes, blobs[i]!.digest] as const), [manifest, digest] as const]) {
    writeFileSync(join(dir, 'blobs', 'sha256', d.slice('sha256:'.length)), bytes)
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2, mediaType: OCI_INDEX,
    manifests: [{ mediaType: OCI_MANIFEST, digest, size: manifest.byteLength, annotations: { 'org.opencontainers.image.ref.name': plan.tag } }],
  }))
  await skopeo(['copy', ...PUSH_FLAGS, `oci:${dir}:${plan.tag}`, dockerRef(base, plan.name, plan.tag)], { timeoutMs: 60_000 })
  return { name: plan.name, tag: plan.tag, manifest, digest, blobs }
}
