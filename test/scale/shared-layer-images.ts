// Images that share layers, as real ones share their base: a pool of base layers every image
// draws a few from, plus a config and one layer of its own. Pushed over HTTP the three ways
// clients push (test/faults/image-pusher.ts); only a 201 on the manifest PUT acknowledges one.

import { OCI_IMAGE_CONFIG } from '../../oci/media-types.ts'
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
