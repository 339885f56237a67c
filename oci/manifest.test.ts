import { describe, expect, it } from 'vitest'
import { OciError } from './errors.ts'
import { MANIFEST_SHAPE_LIMITS, MAX_MANIFEST_BYTES, parseManifest } from './manifest.ts'
import {
  DOCKER_IMAGE_CONFIG,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_SCHEMA1_MANIFEST,
  DOCKER_SCHEMA1_SIGNED_MANIFEST,
  OCI_EMPTY_CONFIG,
  OCI_IMAGE_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from './media-types.ts'

const sha = (c: string) => `sha256:${c.repeat(64)}`
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'
const config = { mediaType: OCI_IMAGE_CONFIG, digest: sha('c'), size: 452 }
const layer = (c: string, size = 100) => ({ mediaType: LAYER, digest: sha(c), size })
const image = (extra: Record<string, unknown> = {}) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer('1'), layer('2')], ...extra })
const index = (extra: Record<string, unknown> = {}) => ({
  schemaVersion: 2,
  mediaType: OCI_INDEX,
  manifests: [{ mediaType: OCI_MANIFEST, digest: sha('a'), size: 500, platform: { os: 'linux', architecture: 'amd64' } }],
  ...extra,
})

const bytesOf = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))
const parse = (value: unknown, contentType: string | null = null) => parseManifest(bytesOf(value), contentType)

/** Runs fn, asserts it threw an OciError with this code, and returns the error. */
function thrown(fn: () => unknown, code = 'MANIFEST_INVALID'): OciError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(OciError)
    expect((err as OciError).code).toBe(code)
    return err as OciError
  }
  throw new Error(`expected ${code}, nothing was thrown`)
}

describe('parseManifest: image manifests', () => {
  it('parses an OCI image manifest: config, layers as blobs, no children', () => {
    const m = parse(image(), OCI_MANIFEST)
    expect(m.mediaType).toBe(OCI_MANIFEST)
    expect(m.kind).toBe('image')
    expect(m.config).toEqual(config)
    expect(m.blobs).toEqual([config, layer('1'), layer('2')])
    expect(m.manifests).toEqual([])
    expect(m.subject).toBeNull()
    expect(m.annotations).toBeNull()
  })

  it('parses a Docker schema 2 manifest', () => {
    const body = { ...image(), mediaType: DOCKER_MANIFEST, config: { ...config, mediaType: DOCKER_IMAGE_CONFIG } }
    const m = parse(body, DOCKER_MANIFEST)
    expect(m).toMatchObject({ mediaType: DOCKER_MANIFEST, kind: 'image', artifactType: DOCKER_IMAGE_CONFIG })
  })

  it('accepts an empty layers array (artifacts)', () => {
    const m = parse(image({ config: { mediaType: OCI_EMPTY_CONFIG, digest: sha('e'), size: 2 }, layers: [] }))
    expect(m.blobs).toEqual([{ mediaType: OCI_EMPTY_CONFIG, digest: sha('e'), size: 2 }])
  })

  it('treats absent or null layers as none (Go marshals a nil slice as null)', () => {
    expect(parse(image({ layers: undefined })).blobs).toEqual([config])
    expect(parse(image({ layers: null })).blobs).toEqual([config])
  })

  it('lists each blob once when the config or a layer is referenced twice', () => {
    const empty = { mediaType: OCI_EMPTY_CONFIG, digest: sha('e'), size: 2 }
    const m = parse(image({ config: empty, layers: [empty, layer('1'), layer('1')] }))
    expect(m.blobs).toEqual([empty, layer('1')])
  })

  it('lists no foreign layers for an ordinary image', () => {
    expect(parse(image()).foreignLayers).toEqual([])
  })

  it('sets layers of every non-distributable media type apart as foreign, with or without urls', () => {
    for (const mediaType of [
      'application/vnd.oci.image.layer.nondistributable.v1.tar',
      'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
      'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
      'application/vnd.docker.image.rootfs.foreign.diff.tar',
      'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
    ]) {
      const foreign = { mediaType, digest: sha('f'), size: 9 }
      const m = parse(image({ layers: [layer('1'), foreign] }))
      expect(m.blobs, mediaType).toEqual([config, layer('1')])
      expect(m.foreignLayers, mediaType).toEqual([foreign])
    }
  })

  it('sets an ordinary layer that carries urls apart as foreign', () => {
    const hosted = { ...layer('2'), urls: ['https://mcr.microsoft.com/x'] }
    const m = parse(image({ layers: [layer('1'), hosted] }))
    expect(m.blobs).toEqual([config, layer('1')])
    expect(m.foreignLayers).toEqual([hosted])
  })

  it('keeps a layer with an empty urls list as an ordinary blob', () => {
    const m = parse(image({ layers: [{ ...layer('1'), urls: [] }] }))
    expect(m.blobs).toEqual([config, { ...layer('1'), urls: [] }])
    expect(m.foreignLayers).toEqual([])
  })

  it('still requires a digest that is foreign in one place and an ordinary layer in another', () => {
    const foreign = { ...layer('1'), urls: ['https://example.com/l1'] }
    const m = parse(image({ layers: [foreign, layer('1'), foreign] }))
    expect(m.blobs).toEqual([config, layer('1')])
    expect(m.foreignLayers).toEqual([])
  })

  it('never treats the config as foreign, whatever it carries', () => {
    const odd = { ...config, urls: ['https://example.com/config'] }
    expect(parse(image({ config: odd, layers: [] })).blobs).toEqual([odd])
  })

  it('accepts sha512 digests', () => {
    const big = { ...layer('1'), digest: `sha512:${'b'.repeat(128)}` }
    expect(parse(image({ layers: [big] })).blobs[1]).toEqual(big)
  })

  it('accepts a size of zero', () => {
    expect(parse(image({ layers: [layer('1', 0)] })).blobs[1]!.size).toBe(0)
  })

  it('keeps descriptor artifactType and annotations, drops unknown descriptor fields', () => {
    const withExtras = { ...layer('1'), artifactType: 'application/x', annotations: { k: 'v' }, data: 'e30=', future: 1 }
    expect(parse(image({ layers: [withExtras] })).blobs[1]).toEqual({ ...layer('1'), artifactType: 'application/x', annotations: { k: 'v' } })
  })

  it('returns the subject and manifest annotations', () => {
    const subject = { mediaType: OCI_MANIFEST, digest: sha('d'), size: 7 }
    const m = parse(image({ subject, annotations: { 'org.example': 'yes' } }))
    expect(m.subject).toEqual(subject)
    expect(m.annotations).toEqual({ 'org.example': 'yes' })
  })

  it("uses the manifest's artifactType for referrers when set", () => {
    expect(parse(image({ artifactType: 'application/vnd.example.sbom' })).artifactType).toBe('application/vnd.example.sbom')
  })

  it("falls back to the config's mediaType as artifactType for referrers", () => {
    expect(parse(image()).artifactType).toBe(OCI_IMAGE_CONFIG)
  })

  it('requires a config', () => {
    expect(thrown(() => parse(image({ config: undefined }))).detail).toEqual({ field: 'config' })
    expect(thrown(() => parse(image({ config: null }))).detail).toEqual({ field: 'config' })
  })

  it('rejects layers that are not an array', () => {
    expect(thrown(() => parse(image({ layers: {} }))).detail).toEqual({ field: 'layers' })
  })
})

describe('parseManifest: indexes', () => {
  it('parses an OCI image index: children as manifests, no blobs, no config', () => {
    const m = parse(index(), OCI_INDEX)
    expect(m).toMatchObject({ mediaType: OCI_INDEX, kind: 'index', config: null, blobs: [], foreignLayers: [], artifactType: null })
    expect(m.manifests).toEqual(index().manifests)
  })

  it('parses a Docker manifest list', () => {
    const list = index({ mediaType: DOCKER_MANIFEST_LIST, manifests: [{ ...index().manifests[0], mediaType: DOCKER_MANIFEST }] })
    expect(parse(list, DOCKER_MANIFEST_LIST)).toMatchObject({ mediaType: DOCKER_MANIFEST_LIST, kind: 'index' })
  })

  it('accepts an index with an empty or absent manifests list', () => {
    expect(parse(index({ manifests: [] })).manifests).toEqual([])
    expect(parse(index({ manifests: undefined }), OCI_INDEX).manifests).toEqual([])
  })

  it("keeps an index's own artifactType, subject and annotations", () => {
    const subject = { mediaType: OCI_INDEX, digest: sha('d'), size: 7 }
    const m = parse(index({ artifactType: 'application/vnd.example', subject, annotations: { a: 'b' } }))
    expect(m).toMatchObject({ artifactType: 'application/vnd.example', subject, annotations: { a: 'b' } })
  })

  it('rejects a child descriptor with a bad digest, naming its path', () => {
    const bad = index({ manifests: [index().manifests[0], { mediaType: OCI_MANIFEST, digest: 'sha256:nothex', size: 1 }] })
    expect(thrown(() => parse(bad)).detail).toEqual({ field: 'manifests[1].digest', digest: 'sha256:nothex' })
  })

  it('rejects a child platform that is not an object', () => {
    const bad = index({ manifests: [{ ...index().manifests[0], platform: 'linux/amd64' }] })
    expect(thrown(() => parse(bad)).detail).toEqual({ field: 'manifests[0].platform' })
  })
})

describe('parseManifest: media type resolution', () => {
  it("takes the body's mediaType when there is no Content-Type", () => {
    expect(parse(image({ mediaType: DOCKER_MANIFEST }), null).mediaType).toBe(DOCKER_MANIFEST)
  })

  it('takes the Content-Type when the body omits mediaType', () => {
    expect(parse(image({ mediaType: undefined }), DOCKER_MANIFEST).mediaType).toBe(DOCKER_MANIFEST)
  })

  it('ignores Content-Type parameters and case', () => {
    expect(parse(image(), 'application/VND.OCI.image.manifest.v1+json; charset=utf-8').mediaType).toBe(OCI_MANIFEST)
  })

  it('infers an OCI index from manifests when neither body nor header names a type', () => {
    expect(parse(index({ mediaType: undefined })).mediaType).toBe(OCI_INDEX)
  })

  it('infers an OCI image manifest from config when neither body nor header names a type', () => {
    expect(parse(image({ mediaType: undefined })).mediaType).toBe(OCI_MANIFEST)
  })

  it('treats an empty body mediaType as absent', () => {
    expect(parse(image({ mediaType: '' }), DOCKER_MANIFEST).mediaType).toBe(DOCKER_MANIFEST)
  })

  it('treats a generic application/json or octet-stream Content-Type as no claim', () => {
    expect(parse(image({ mediaType: DOCKER_MANIFEST }), 'application/json').mediaType).toBe(DOCKER_MANIFEST)
    expect(parse(image({ mediaType: undefined }), 'application/octet-stream').mediaType).toBe(OCI_MANIFEST)
    expect(parse(index({ mediaType: undefined }), '').mediaType).toBe(OCI_INDEX)
  })

  it('rejects a body mediaType that contradicts the Content-Type', () => {
    const err = thrown(() => parse(image(), DOCKER_MANIFEST))
    expect(err.detail).toEqual({ contentType: DOCKER_MANIFEST, mediaType: OCI_MANIFEST })
    expect(err.status).toBe(400)
  })

  it('rejects an index body pushed as an image manifest', () => {
    thrown(() => parse(index(), OCI_MANIFEST))
  })

  it('rejects an unsupported Content-Type when the body omits mediaType, naming the type', () => {
    const err = thrown(() => parse(image({ mediaType: undefined }), 'application/vnd.example.thing+json'))
    expect(err.detail).toEqual({ mediaType: 'application/vnd.example.thing+json' })
    expect(err.message).toContain('application/vnd.example.thing+json')
  })

  it('rejects an unsupported body mediaType, naming the type', () => {
    expect(thrown(() => parse(image({ mediaType: OCI_IMAGE_CONFIG }))).detail).toEqual({ mediaType: OCI_IMAGE_CONFIG })
  })

  it('rejects a body mediaType that is not a string', () => {
    expect(thrown(() => parse(image({ mediaType: 42 }))).detail).toEqual({ field: 'mediaType' })
  })

  it('rejects a typeless manifest with neither config nor manifests', () => {
    expect(thrown(() => parse({ schemaVersion: 2, layers: [] })).detail).toEqual({ field: 'mediaType' })
  })
})

describe('parseManifest: schema 1 and schemaVersion', () => {
  const schema1 = { schemaVersion: 1, name: 'library/x', tag: 'latest', architecture: 'amd64', fsLayers: [], history: [] }

  it('rejects a schema 1 manifest by Content-Type, signed or unsigned, before parsing the body', () => {
    for (const type of [DOCKER_SCHEMA1_MANIFEST, DOCKER_SCHEMA1_SIGNED_MANIFEST]) {
      const err = thrown(() => parse('not even json', type))
      expect(err.message).toMatch(/Docker schema 1 manifests are not supported.*schema 2 or OCI/)
    }
  })

  it('rejects a schema 1 manifest by its body mediaType', () => {
    expect(thrown(() => parse({ ...schema1, mediaType: DOCKER_SCHEMA1_MANIFEST })).message).toMatch(/schema 1/)
  })

  it('rejects a schema 1 manifest by schemaVersion 1 alone', () => {
    const err = thrown(() => parse(schema1))
    expect(err.message).toMatch(/schema 1/)
    expect(err.detail).toEqual({ schemaVersion: 1 })
  })

  it('rejects a missing or other schemaVersion', () => {
    for (const version of [undefined, 3, '2', 2.5]) {
      expect(thrown(() => parse(image({ schemaVersion: version }))).detail).toEqual({ field: 'schemaVersion' })
    }
  })
})

describe('parseManifest: malformed bodies', () => {
  it('rejects invalid JSON with a message saying so', () => {
    expect(thrown(() => parse('{"schemaVersion": 2,')).message).toMatch(/^manifest is not valid JSON/)
  })

  it('rejects bytes that are not UTF-8', () => {
    expect(thrown(() => parseManifest(new Uint8Array([0x7b, 0xff, 0x7d]), OCI_MANIFEST)).message).toMatch(/UTF-8/)
  })

  it('rejects an empty body', () => {
    thrown(() => parseManifest(new Uint8Array(), OCI_MANIFEST))
  })

  it('rejects JSON that is not an object', () => {
    for (const body of ['[]', 'null', '"manifest"', '2']) {
      expect(thrown(() => parse(body, OCI_MANIFEST)).message).toMatch(/must be a JSON object/)
    }
  })

  it('rejects a manifest over MAX_MANIFEST_BYTES as MANIFEST_INVALID with status 413', () => {
    const err = thrown(() => parseManifest(new Uint8Array(MAX_MANIFEST_BYTES + 1), OCI_MANIFEST))
    expect(err.status).toBe(413)
    expect(MAX_MANIFEST_BYTES).toBe(4 * 1024 * 1024)
  })

  // Refused by the byte scan (detail.limit), not by JSON.parse after 0.6-2.7 s and 120-220 MB.
  it('refuses 4 MiB of nested arrays before parsing them', () => {
    const half = MAX_MANIFEST_BYTES / 2
    const err = thrown(() => parseManifest(bytesOf('['.repeat(half) + ']'.repeat(half)), null))
    expect(err).toMatchObject({ code: 'MANIFEST_INVALID', status: 400, detail: { limit: MANIFEST_SHAPE_LIMITS.maxDepth } })
  })

  it('accepts nesting up to the limit, and counts arrays hidden in unknown fields', () => {
    const nested = (n: number): unknown => (n === 0 ? 'leaf' : [nested(n - 1)])
    // image() is already 1 deep; the extra field adds the rest.
    expect(parse(image({ extra: nested(MANIFEST_SHAPE_LIMITS.maxDepth - 1) })).kind).toBe('image')
    expect(thrown(() => parse(image({ extra: nested(MANIFEST_SHAPE_LIMITS.maxDepth) }))).message).toMatch(/nests deeper than 64/)
  })

  it('refuses more values than the limit, however shallow', () => {
    const many = Array.from({ length: MANIFEST_SHAPE_LIMITS.maxValues }, () => 0)
    expect(thrown(() => parse(image({ extra: many }))).message).toMatch(/more than 100000 JSON values/)
  })

  it('rejects annotations whose values are not all strings', () => {
    expect(thrown(() => parse(image({ annotations: { n: 1 } }))).detail).toEqual({ field: 'annotations' })
    expect(thrown(() => parse(image({ annotations: ['x'] }))).detail).toEqual({ field: 'annotations' })
  })

  it('rejects a manifest artifactType that is not a string', () => {
    expect(thrown(() => parse(image({ artifactType: 7 }))).detail).toEqual({ field: 'artifactType' })
  })
})

describe('parseManifest: descriptor validation names the field path', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['a layer that is not an object', { layers: [layer('1'), 'x'] }, 'layers[1]'],
    ['a missing mediaType', { layers: [{ digest: sha('1'), size: 1 }] }, 'layers[0].mediaType'],
    ['a non-string mediaType', { layers: [{ ...layer('1'), mediaType: 5 }] }, 'layers[0].mediaType'],
    ['an empty mediaType', { layers: [{ ...layer('1'), mediaType: '' }] }, 'layers[0].mediaType'],
    ['a missing digest', { layers: [{ mediaType: LAYER, size: 1 }] }, 'layers[0].digest'],
    ['a size that is a string', { layers: [{ ...layer('1'), size: '100' }] }, 'layers[0].size'],
    ['a negative size', { layers: [layer('1'), layer('2', -1)] }, 'layers[1].size'],
    ['a fractional size', { layers: [layer('1', 1.5)] }, 'layers[0].size'],
    ['a size beyond the safe integers', { layers: [layer('1', 2 ** 53)] }, 'layers[0].size'],
    ['a missing size', { config: { mediaType: OCI_IMAGE_CONFIG, digest: sha('c') } }, 'config.size'],
    ['a config that is not an object', { config: 'sha256:abc' }, 'config'],
    ['urls that are not strings', { layers: [{ ...layer('1'), urls: [1] }] }, 'layers[0].urls'],
    ['descriptor annotations that are not strings', { layers: [{ ...layer('1'), annotations: { a: true } }] }, 'layers[0].annotations'],
    ['a descriptor artifactType that is not a string', { layers: [{ ...layer('1'), artifactType: {} }] }, 'layers[0].artifactType'],
    ['a subject without a digest', { subject: { mediaType: OCI_MANIFEST, size: 1 } }, 'subject.digest'],
  ]
  for (const [what, extra, field] of cases) {
    it(`rejects ${what} as MANIFEST_INVALID at ${field}`, () => {
      const err = thrown(() => parse(image(extra)))
      expect((err.detail as { field: string }).field).toBe(field)
      expect(err.message).toContain(field)
    })
  }

  const badDigests = ['sha256:' + 'A'.repeat(64), 'sha256:' + 'a'.repeat(63), 'md5:' + 'a'.repeat(32), 'blake3:' + 'a'.repeat(64), 'sha512:' + 'a'.repeat(64), sha('1').slice(7)]
  for (const digest of badDigests) {
    it(`rejects the digest ${digest.slice(0, 16)}… at layers[2].digest`, () => {
      const err = thrown(() => parse(image({ layers: [layer('1'), layer('2'), { ...layer('3'), digest }] })))
      expect(err.detail).toEqual({ field: 'layers[2].digest', digest })
    })
  }
})
