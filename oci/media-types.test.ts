import { describe, expect, it } from 'vitest'
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_SCHEMA1_MANIFEST,
  DOCKER_SCHEMA1_SIGNED_MANIFEST,
  MANIFEST_MEDIA_TYPES,
  OCI_EMPTY_CONFIG,
  OCI_IMAGE_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
  isSchema1MediaType,
  manifestKind,
  normalizeMediaType,
} from './media-types.ts'

describe('media types', () => {
  it('spells the registered media types exactly', () => {
    expect(OCI_MANIFEST).toBe('application/vnd.oci.image.manifest.v1+json')
    expect(OCI_INDEX).toBe('application/vnd.oci.image.index.v1+json')
    expect(DOCKER_MANIFEST).toBe('application/vnd.docker.distribution.manifest.v2+json')
    expect(DOCKER_MANIFEST_LIST).toBe('application/vnd.docker.distribution.manifest.list.v2+json')
    expect(DOCKER_SCHEMA1_MANIFEST).toBe('application/vnd.docker.distribution.manifest.v1+json')
    expect(DOCKER_SCHEMA1_SIGNED_MANIFEST).toBe('application/vnd.docker.distribution.manifest.v1+prettyjws')
    expect(OCI_EMPTY_CONFIG).toBe('application/vnd.oci.empty.v1+json')
    expect(OCI_IMAGE_CONFIG).toBe('application/vnd.oci.image.config.v1+json')
  })

  it('classifies OCI and Docker manifests as image, indexes and manifest lists as index', () => {
    expect(manifestKind(OCI_MANIFEST)).toBe('image')
    expect(manifestKind(DOCKER_MANIFEST)).toBe('image')
    expect(manifestKind(OCI_INDEX)).toBe('index')
    expect(manifestKind(DOCKER_MANIFEST_LIST)).toBe('index')
  })

  it('gives no kind to schema 1, configs, unknown types or Object.prototype keys', () => {
    for (const type of [DOCKER_SCHEMA1_MANIFEST, OCI_IMAGE_CONFIG, 'text/plain', 'toString', '__proto__']) {
      expect(manifestKind(type)).toBeNull()
    }
  })

  it('lists exactly the four supported manifest media types', () => {
    expect([...MANIFEST_MEDIA_TYPES].sort()).toEqual([DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST].sort())
  })

  it('recognises both schema 1 media types, signed and unsigned', () => {
    expect(isSchema1MediaType(DOCKER_SCHEMA1_MANIFEST)).toBe(true)
    expect(isSchema1MediaType(DOCKER_SCHEMA1_SIGNED_MANIFEST)).toBe(true)
    expect(isSchema1MediaType(DOCKER_MANIFEST)).toBe(false)
  })

  it('normalises a header value by dropping parameters, whitespace and case', () => {
    expect(normalizeMediaType(' Application/VND.oci.image.manifest.v1+JSON ; charset=utf-8')).toBe(OCI_MANIFEST)
    expect(normalizeMediaType(OCI_INDEX)).toBe(OCI_INDEX)
    expect(normalizeMediaType('')).toBe('')
  })
})
