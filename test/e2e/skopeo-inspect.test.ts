// skopeo reading and deleting on a real origin: inspect (parsed and --raw), list-tags, delete.

import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { blobPath, writeImageLayout, writeIndexLayout, type WrittenImage, type WrittenIndex } from '../helpers/oci-layout.ts'
import { dockerRef, PUSH_FLAGS, REGISTRY_FLAGS, skopeo, skopeoFails } from '../helpers/skopeo.ts'

interface InspectOutput {
  Name: string
  Digest: string
  RepoTags: string[]
  Architecture: string
  Os: string
  Layers: string[]
}

const NAME = 'inspect/app'
const run = randomUUID().slice(0, 8)
let origin: TestOrigin
let root: string
let layout: string
let image: WrittenImage
let index: WrittenIndex
let doomed: WrittenImage

function ref(reference?: string, name = NAME): string {
  return dockerRef(origin.url, name, reference)
}

async function inspect(reference: string, extra: string[] = []): Promise<InspectOutput> {
  const { stdout } = await skopeo(['inspect', ...REGISTRY_FLAGS, ...extra, ref(reference)])
  return JSON.parse(stdout) as InspectOutput
}

async function push(tag: string, extra: string[] = []): Promise<void> {
  await skopeo(['copy', ...PUSH_FLAGS, ...extra, `oci:${layout}:${tag}`, ref(tag)])
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'meridian-skopeo-inspect-'))
  layout = join(root, 'layout')
  origin = await startTestOrigin()
  image = await writeImageLayout(layout, { layers: [42, 4242, 424_242], tag: 'v1', seed: `${run}/v1` })
  await writeImageLayout(layout, { layers: [42, 4242, 424_242], tag: 'v2', seed: `${run}/v1` })
  index = await writeIndexLayout(layout, {
    tag: 'multi',
    seed: `${run}/multi`,
    platforms: [
      { os: 'linux', architecture: 'amd64', layers: [11, 12] },
      { os: 'linux', architecture: 'arm64', variant: 'v8', layers: [13] },
    ],
  })
  doomed = await writeImageLayout(layout, { layers: [99], tag: 'doomed', seed: `${run}/doomed` })
  await push('v1')
  await push('v2')
  await push('multi', ['--all'])
  await push('doomed')
})

afterAll(async () => {
  await origin?.close()
  if (root) rmSync(root, { recursive: true, force: true })
})

describe('skopeo inspect, list-tags and delete on the origin', () => {
  it('inspect reports the pushed manifest digest, layers, platform and tags', async () => {
    const out = await inspect('v1')
    expect(out.Digest).toBe(image.manifest.digest)
    expect(out.Layers).toEqual(image.layers.map((l) => l.digest))
    expect(out).toMatchObject({ Architecture: 'amd64', Os: 'linux' })
    expect(out.RepoTags).toEqual(expect.arrayContaining(['v1', 'v2', 'multi', 'doomed']))
  })

  it('inspect by digest finds the same manifest', async () => {
    const out = await inspect(image.manifest.digest, ['--no-tags'])
    expect(out.Digest).toBe(image.manifest.digest)
    expect(out.Layers).toEqual(image.layers.map((l) => l.digest))
  })

  it('inspect --raw returns the manifest bytes as pushed, and --raw --config the config bytes', async () => {
    const raw = await skopeo(['inspect', ...REGISTRY_FLAGS, '--raw', ref('v1')])
    expect(raw.stdout).toBe(readFileSync(blobPath(layout, image.manifest.digest), 'utf8'))
    const config = await skopeo(['inspect', ...REGISTRY_FLAGS, '--raw', '--config', ref('v1')])
    expect(config.stdout).toBe(readFileSync(blobPath(layout, image.config.digest), 'utf8'))
  })

  it('inspect of an image index picks the requested platform; --raw returns the index', async () => {
    const raw = await skopeo(['inspect', ...REGISTRY_FLAGS, '--raw', ref('multi')])
    expect(raw.stdout).toBe(readFileSync(blobPath(layout, index.index.digest), 'utf8'))
    const arm = await skopeo(['--override-os', 'linux', '--override-arch', 'arm64', '--override-variant', 'v8', 'inspect', ...REGISTRY_FLAGS, ref('multi')])
    const out = JSON.parse(arm.stdout) as InspectOutput
    expect(out.Architecture).toBe('arm64')
    expect(out.Layers).toEqual(index.images[1]!.layers.map((l) => l.digest))
  })

  it('list-tags lists every tag of the repository', async () => {
    const { stdout } = await skopeo(['list-tags', ...REGISTRY_FLAGS, ref()])
    const out = JSON.parse(stdout) as { Repository: string; Tags: string[] }
    expect(out.Repository).toBe(`${new URL(origin.url).host}/${NAME}`)
    expect([...out.Tags].sort()).toEqual(['doomed', 'multi', 'v1', 'v2'])
  })

  it('list-tags of a repository that was never pushed fails with name unknown', async () => {
    const failure = await skopeoFails(['list-tags', ...REGISTRY_FLAGS, ref(undefined, 'inspect/nothing')])
    expect(failure.stderr).toMatch(/name unknown|NAME_UNKNOWN|404/i)
  })

  it('delete removes the manifest: inspect then fails and list-tags no longer shows the tag', async () => {
    expect((await inspect('doomed')).Digest).toBe(doomed.manifest.digest)
    await skopeo(['delete', ...REGISTRY_FLAGS, ref('doomed')])
    const failure = await skopeoFails(['inspect', ...REGISTRY_FLAGS, ref('doomed')])
    expect(failure.stderr).toMatch(/manifest unknown/i)
    const byDigest = await skopeoFails(['inspect', ...REGISTRY_FLAGS, ref(doomed.manifest.digest)])
    expect(byDigest.stderr).toMatch(/manifest unknown/i)
    const { stdout } = await skopeo(['list-tags', ...REGISTRY_FLAGS, ref()])
    expect((JSON.parse(stdout) as { Tags: string[] }).Tags).not.toContain('doomed')
    // The other tags are untouched.
    expect((await inspect('v1', ['--no-tags'])).Digest).toBe(image.manifest.digest)
  })
})
