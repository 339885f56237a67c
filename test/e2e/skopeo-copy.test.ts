// Real-client round trips: skopeo pushes OCI layouts the test wrote to a real origin on loopback
// and pulls them back; every digest and every byte must survive. `--preserve-digests` matters in
// both directions: without it skopeo gzips `.tar` layers on the way to a registry and again on
// the way into an OCI layout, so digests would change by design rather than by a registry bug.

import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { blobPath, readJsonBlob, readRef, sha256File, writeImageLayout, writeIndexLayout, type Descriptor, type WrittenImage } from '../helpers/oci-layout.ts'
import { dockerRef, PULL_FLAGS, PUSH_FLAGS, REGISTRY_FLAGS, skopeo } from '../helpers/skopeo.ts'

const MiB = 1024 * 1024
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip'

let origin: TestOrigin
let root: string
// skopeo remembers where it saw each blob (its blob info cache) across runs; fresh bytes per run
// keep an old run's repositories from taking part in this run's pushes.
const run = randomUUID().slice(0, 8)
let counter = 0

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'meridian-skopeo-copy-'))
  origin = await startTestOrigin()
})

afterAll(async () => {
  await origin?.close()
  if (root) rmSync(root, { recursive: true, force: true })
})

/** A fresh directory under this file's temp root. */
function dir(label: string): string {
  return join(root, `${label}-${++counter}`)
}

async function push(source: string, name: string, tag: string, extra: string[] = [], options: { debug?: boolean } = {}): Promise<{ digest: string; stderr: string }> {
  const digestFile = `${dir('digest')}.txt`
  const { stderr } = await skopeo(['copy', ...PUSH_FLAGS, '--digestfile', digestFile, ...extra, source, dockerRef(origin.url, name, tag)], options)
  return { digest: readFileSync(digestFile, 'utf8').trim(), stderr }
}

async function pull(name: string, tag: string, destination: string, extra: string[] = []): Promise<void> {
  await skopeo(['copy', ...PULL_FLAGS, ...extra, dockerRef(origin.url, name, tag), destination])
}

/** The pulled layout holds the same manifest, config and layers, byte for byte. */
async function expectSameImage(source: string, pulled: string, image: WrittenImage): Promise<void> {
  for (const d of [image.manifest, image.config]) {
    expect(readFileSync(blobPath(pulled, d.digest)).equals(readFileSync(blobPath(source, d.digest))), d.digest).toBe(true)
  }
  const manifest = readJsonBlob<{ layers: Descriptor[] }>(pulled, image.manifest.digest)
  expect(manifest.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest))
  for (const layer of image.layers) {
    const path = blobPath(pulled, layer.digest)
    expect(statSync(path).size).toBe(layer.size)
    // The file hashing to its digest means its bytes are the ones written (SHA-256 collisions aside).
    expect(await sha256File(path)).toBe(layer.digest)
  }
}

async function roundTrip(name: string, layers: number[]): Promise<void> {
  const source = dir('src')
  const image = await writeImageLayout(source, { layers, tag: 'v1', seed: `${run}/${name}` })
  const pushed = await push(`oci:${source}:v1`, name, 'v1')
  expect(pushed.digest).toBe(image.manifest.digest)
  const pulled = dir('pulled')
  await pull(name, 'v1', `oci:${pulled}:v1`)
  expect(readRef(pulled, 'v1')?.digest).toBe(image.manifest.digest)
  await expectSameImage(source, pulled, image)
}

describe('skopeo copy to and from the origin', () => {
  it('round-trips an image with layers from 3 bytes to 100 MiB, keeping every digest and byte', async () => {
    const source = dir('big')
    const image = await writeImageLayout(source, { layers: [3, 1000, 64 * 1024 + 7, 100 * MiB], tag: 'big', seed: `${run}/big` })
    const pushed = await push(`oci:${source}:big`, 'e2e/big', 'big')
    expect(pushed.digest).toBe(image.manifest.digest)

    const pulled = dir('big-pulled')
    await pull('e2e/big', 'big', `oci:${pulled}:big`)
    expect(readRef(pulled, 'big')).toMatchObject({ digest: image.manifest.digest, size: image.manifest.size })
    await expectSameImage(source, pulled, image)
  }, 120_000)

  it('round-trips a multi-platform image index with --all', async () => {
    const source = dir('multi')
    const written = await writeIndexLayout(source, {
      tag: 'multi',
      seed: `${run}/multi`,
      platforms: [
        { os: 'linux', architecture: 'amd64', layers: [10, 2048] },
        { os: 'linux', architecture: 'arm64', variant: 'v8', layers: [30, 4096, 5] },
      ],
    })
    const pushed = await push(`oci:${source}:multi`, 'e2e/multi', 'multi', ['--all'])
    expect(pushed.digest).toBe(written.index.digest)

    const pulled = dir('multi-pulled')
    await pull('e2e/multi', 'multi', `oci:${pulled}:multi`, ['--all'])
    expect(readRef(pulled, 'multi')?.digest).toBe(written.index.digest)
    expect(readFileSync(blobPath(pulled, written.index.digest)).equals(readFileSync(blobPath(source, written.index.digest)))).toBe(true)
    for (const image of written.images) await expectSameImage(source, pulled, image)
  })

  it('round-trips a multi-segment repository name (org/team/app)', async () => {
    await roundTrip('org/team/app', [100, 200])
  })

  it('round-trips repository names containing "blobs", "uploads" and "manifests"', async () => {
    for (const name of ['blobs', 'acme/blobs/uploads', 'manifests/blobs']) await roundTrip(name, [50])
  })

  it('mounts the layers from the first repository when the same image is pushed to a second one', async () => {
    const source = dir('twice')
    const image = await writeImageLayout(source, { layers: [300, 3 * MiB], tag: 'v1', seed: `${run}/twice` })
    await push(`oci:${source}:v1`, 'twice/one', 'v1')
    // skopeo's blob info cache remembers that twice/one holds the layers; it asks for a
    // cross-repository mount (distribution-spec end-11) and uploads nothing when it gets 201.
    const second = await push(`oci:${source}:v1`, 'twice/two', 'v1', [], { debug: true })
    expect(second.digest).toBe(image.manifest.digest)
    for (const layer of image.layers) {
      const hex = layer.digest.slice('sha256:'.length)
      expect(second.stderr).toContain(`/v2/twice/two/blobs/uploads/?from=twice%2Fone&mount=sha256%3A${hex}`)
      expect(second.stderr).toContain(`Skipping blob ${layer.digest} (already present)`)
    }
    // Only the config (which skopeo never mounts) went through an upload session.
    expect(second.stderr.match(/PATCH http:\/\/[^ ]+\/v2\/twice\/two\/blobs\/uploads\//g)).toHaveLength(1)
    for (const layer of image.layers) {
      const head = await fetch(`${origin.url}/v2/twice/two/blobs/${layer.digest}`, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.headers.get('content-length')).toBe(String(layer.size))
    }
    const pulled = dir('twice-pulled')
    await pull('twice/two', 'v1', `oci:${pulled}:v1`)
    await expectSameImage(source, pulled, image)
  })

  it('pushes a Docker v2s2 image (--format v2s2) and serves its converted manifest unchanged', async () => {
    const source = dir('v2s2')
    const image = await writeImageLayout(source, { layers: [700, 70_000], tag: 'v1', seed: `${run}/v2s2` })
    // A format conversion rewrites the manifest (and gzips the layers): no --preserve-digests.
    const digestFile = `${dir('digest')}.txt`
    await skopeo(['copy', '--dest-tls-verify=false', '--retry-times', '0', '--format', 'v2s2', '--digestfile', digestFile, `oci:${source}:v1`, dockerRef(origin.url, 'e2e/docker', 'v1')])
    const digest = readFileSync(digestFile, 'utf8').trim()

    const raw = await skopeo(['inspect', ...REGISTRY_FLAGS, '--raw', dockerRef(origin.url, 'e2e/docker', 'v1')])
    const manifest = JSON.parse(raw.stdout) as { mediaType: string; config: Descriptor; layers: Descriptor[] }
    expect(manifest.mediaType).toBe(DOCKER_MANIFEST)
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([DOCKER_LAYER_GZIP, DOCKER_LAYER_GZIP])

    // The dir: transport stores the manifest and blobs as they come, in any format.
    const pulled = dir('v2s2-pulled')
    await pull('e2e/docker', digest, `dir:${pulled}`)
    expect(await sha256File(join(pulled, 'manifest.json'))).toBe(digest)
    expect(readFileSync(join(pulled, manifest.config.digest.slice('sha256:'.length))).equals(readFileSync(blobPath(source, image.config.digest)))).toBe(true)
    for (const [i, layer] of manifest.layers.entries()) {
      const path = join(pulled, layer.digest.slice('sha256:'.length))
      expect(await sha256File(path)).toBe(layer.digest)
      // Gunzipped, each layer is the original .tar layer (its diff_id).
      expect(gunzipSync(readFileSync(path)).equals(readFileSync(blobPath(source, image.layers[i]!.digest)))).toBe(true)
    }
  })
})
