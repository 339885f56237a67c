import { describe, expect, it } from 'vitest'
import type { Descriptor } from './manifest.ts'
import { parseManifest } from './manifest.ts'
import { OCI_EMPTY_CONFIG, OCI_INDEX, OCI_MANIFEST } from './media-types.ts'
import { buildReferrersIndex, filterByArtifactType, referrerDescriptor } from './referrers.ts'

const digest = (c: string) => `sha256:${c.repeat(64)}`
const sbom: Descriptor = {
  mediaType: OCI_MANIFEST,
  digest: digest('a'),
  size: 10,
  artifactType: 'application/spdx+json',
  annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
}
const signature: Descriptor = { mediaType: OCI_MANIFEST, digest: digest('b'), size: 20, artifactType: 'application/vnd.dev.cosign' }
const bare: Descriptor = { mediaType: OCI_INDEX, digest: digest('c'), size: 30 }

describe('buildReferrersIndex', () => {
  it('answers an OCI image index of schemaVersion 2 listing every referrer', () => {
    const { body, mediaType } = buildReferrersIndex([sbom, signature])
    expect(mediaType).toBe(OCI_INDEX)
    expect(JSON.parse(body)).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [sbom, signature] })
  })

  it('answers an index with an empty manifests list when nothing refers to the subject', () => {
    expect(JSON.parse(buildReferrersIndex([]).body)).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })
  })

  it('keeps only mediaType, digest, size, artifactType and annotations of each descriptor', () => {
    const noisy: Descriptor = { ...signature, platform: { os: 'linux' }, urls: ['https://example.com/x'] }
    const [entry] = JSON.parse(buildReferrersIndex([noisy]).body).manifests
    expect(entry).toEqual(signature)
  })

  it('omits artifactType and annotations when a descriptor has none', () => {
    const [entry] = JSON.parse(buildReferrersIndex([bare]).body).manifests
    expect(Object.keys(entry).sort()).toEqual(['digest', 'mediaType', 'size'])
  })
})

describe('filterByArtifactType', () => {
  it('keeps every descriptor when no artifactType is asked for', () => {
    expect(filterByArtifactType([sbom, signature, bare], null)).toEqual([sbom, signature, bare])
  })

  it('keeps only descriptors of the asked artifactType', () => {
    expect(filterByArtifactType([sbom, signature, bare], 'application/spdx+json')).toEqual([sbom])
  })

  it('answers an empty list when no descriptor has the asked artifactType', () => {
    expect(filterByArtifactType([sbom, signature, bare], 'application/none')).toEqual([])
  })
})

describe('referrerDescriptor', () => {
  const subject = { mediaType: OCI_MANIFEST, digest: digest('d'), size: 5 }
  const empty = { mediaType: OCI_EMPTY_CONFIG, digest: digest('e'), size: 2 }

  it("uses the manifest's artifactType and annotations", () => {
    const bytes = new TextEncoder().encode(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example', config: empty, layers: [], subject, annotations: { a: 'b' } }),
    )
    expect(referrerDescriptor(parseManifest(bytes, null), digest('f'), bytes.byteLength)).toEqual({
      mediaType: OCI_MANIFEST,
      digest: digest('f'),
      size: bytes.byteLength,
      artifactType: 'application/vnd.example',
      annotations: { a: 'b' },
    })
  })

  it("falls back to the config's mediaType as artifactType and omits absent annotations", () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, config: { ...empty, mediaType: 'application/vnd.cncf.notary.signature' }, layers: [], subject }))
    expect(referrerDescriptor(parseManifest(bytes, OCI_MANIFEST), digest('f'), 1)).toEqual({
      mediaType: OCI_MANIFEST,
      digest: digest('f'),
      size: 1,
      artifactType: 'application/vnd.cncf.notary.signature',
    })
  })
})
