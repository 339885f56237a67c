// Writes OCI image layouts (image-spec image-layout.md: `oci-layout`, `index.json`,
// `blobs/<alg>/<hex>`) that a real client (skopeo's `oci:` transport) can push. Layers are
// pseudo-random bytes streamed to disk chunk by chunk and hashed as they are written, so a
// 100 MiB layer never sits in memory (ARCHITECTURE §4.7 holds for the tests too).

import { createCipheriv, createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { open, rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { Descriptor } from '../../oci/manifest.ts'
import { OCI_IMAGE_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../../oci/media-types.ts'

export type { Descriptor }

/** Uncompressed layers: their digest is their diff_id, and no client needs to decompress them. */
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar'
/** image-spec annotations.md: the tag of an entry in a layout's index.json. */
const REF_NAME = 'org.opencontainers.image.ref.name'

const CHUNK = 1024 * 1024

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export interface WrittenImage {
  /** In an index, the manifest descriptor carries the platform. */
  manifest: Descriptor
  config: Descriptor
  layers: Descriptor[]
}

export interface WrittenIndex {
  index: Descriptor
  images: WrittenImage[]
}

/** The path of a blob inside a layout directory. */
export function blobPath(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':')
  return join(dir, 'blobs', algorithm!, hex!)
}

/**
 * One image (manifest + config + layers of the given sizes) tagged `tag` in `dir`. `seed` makes the
 * bytes reproducible; different seeds give different layers (and so different digests).
 */
export async function writeImageLayout(dir: string, options: { layers: number[]; tag: string; seed?: string; platform?: Platform }): Promise<WrittenImage> {
  initLayout(dir)
  const image = await writeImage(dir, options.layers, options.seed ?? options.tag, options.platform ?? { os: 'linux', architecture: 'amd64' })
  addRef(dir, image.manifest, options.tag)
  return image
}

/** A multi-platform image index (one image per platform) tagged `tag` in `dir`. */
export async function writeIndexLayout(dir: string, options: { platforms: Array<Platform & { layers: number[] }>; tag: string; seed?: string }): Promise<WrittenIndex> {
  initLayout(dir)
  const seed = options.seed ?? options.tag
  const images: WrittenImage[] = []
  for (const { layers, ...platform } of options.platforms) {
    const image = await writeImage(dir, layers, `${seed}/${platform.os}/${platform.architecture}/${platform.variant ?? ''}`, platform)
    images.push({ ...image, manifest: { ...image.manifest, platform } })
  }
  const index = writeJsonBlob(dir, OCI_INDEX, {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: images.map((image) => image.manifest),
  })
  addRef(dir, index, options.tag)
  return { index, images }
}

/** The descriptor tagged `tag` in the layout's index.json, or null. */
export function readRef(dir: string, tag: string): Descriptor | null {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] }
  return index.manifests.find((d) => d.annotations?.[REF_NAME] === tag) ?? null
}

/** A blob of a layout, parsed as JSON (manifests, indexes, configs). */
export function readJsonBlob<T = unknown>(dir: string, digest: string): T {
  return JSON.parse(readFileSync(blobPath(dir, digest), 'utf8')) as T
}

/** SHA-256 of a file, read in chunks (the round trip compares layer files without loading them). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  const file = await open(path)
  try {
    for await (const chunk of file.createReadStream({ highWaterMark: CHUNK })) hash.update(chunk as Buffer)
  } finally {
    await file.close()
  }
  return `sha256:${hash.digest('hex')}`
}

async function writeImage(dir: string, sizes: number[], seed: string, platform: Platform): Promise<WrittenImage> {
  const layers: Descriptor[] = []
  for (const [i, size] of sizes.entries()) layers.push(await writeRandomBlob(dir, OCI_LAYER_TAR, size, `${seed}#${i}`))
  // image-spec config.md: rootfs.diff_ids are the digests of the uncompressed layers, which for
  // `.tar` layers are the layer digests themselves.
  const config = writeJsonBlob(dir, OCI_IMAGE_CONFIG, {
    created: '2024-01-01T00:00:00Z',
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `meridian test layer ${i} (${seed})` })),
  })
  const manifest = writeJsonBlob(dir, OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers,
  })
  return { manifest, config, layers }
}

/**
 * Streams `size` pseudo-random bytes (an AES-CTR keystream keyed by `seed`) into the layout,
 * hashing while writing, then moves the file under its digest.
 */
async function writeRandomBlob(dir: string, mediaType: string, size: number, seed: string): Promise<Descriptor> {
  const key = createHash('sha256').update(seed).digest()
  const keystream = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32))
  const zeros = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)))
  const hash = createHash('sha256')
  const tmp = join(dir, 'blobs', 'sha256', `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`)
  const file = await open(tmp, 'w')
  try {
    for (let written = 0; written < size;) {
      const chunk = keystream.update(zeros.subarray(0, Math.min(CHUNK, size - written)))
      // Clients sniff the first bytes for gzip/zstd/bzip2/xz magic; keep random bytes from posing
      // as a compressed stream. 'M' is no known magic.
      if (written === 0) chunk[0] = 0x4d
      hash.update(chunk)
      await file.write(chunk)
      written += chunk.byteLength
    }
  } finally {
    await file.close()
  }
  const digest = `sha256:${hash.digest('hex')}`
  await rename(tmp, blobPath(dir, digest))
  return { mediaType, digest, size }
}

function writeJsonBlob(dir: string, mediaType: string, value: unknown): Descriptor {
  const bytes = Buffer.from(JSON.stringify(value))
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
  writeFileSync(blobPath(dir, digest), bytes)
  return { mediaType, digest, size: bytes.byteLength }
}

function initLayout(dir: string): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true })
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  try {
    readFileSync(join(dir, 'index.json'))
  } catch {
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }))
  }
}

/** Points `tag` at `descriptor` in index.json, replacing an older entry with that tag. */
function addRef(dir: string, descriptor: Descriptor, tag: string): void {
  const path = join(dir, 'index.json')
  const index = JSON.parse(readFileSync(path, 'utf8')) as { manifests: Descriptor[] }
  index.manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME] !== tag)
  const { platform: _, ...plain } = descriptor
  index.manifests.push({ ...plain, annotations: { [REF_NAME]: tag } })
  writeFileSync(path, JSON.stringify(index))
}
