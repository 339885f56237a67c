// Manifest parsing and validation: image-spec manifest.md, image-index.md and descriptor.md, and
// Docker's Image Manifest V2 Schema 2 (image manifest and manifest list). The caller hashes the
// bytes; this module only decides whether they are a manifest we accept and what it references.

import { ociError, type OciError } from './errors.ts'
import { tryParseDigest } from './digest.ts'
import { scanJsonShape, type JsonShape, type JsonShapeLimits } from './json-shape.ts'
import {
  OCI_INDEX,
  OCI_MANIFEST,
  isNonDistributableLayerType,
  isSchema1MediaType,
  manifestKind,
  normalizeMediaType,
  type ManifestKind,
} from './media-types.ts'

/** distribution-spec "Pushing Manifests": registries SHOULD accept at least 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/**
 * Structure a manifest may have, checked by a byte scan before JSON.parse (oci/json-shape.ts). At
 * these limits the worst shape (100,000 distinct keys) parses in ~50 ms; a real image index of a
 * thousand platforms holds ~15,000 values and nests 4 deep.
 */
export const MANIFEST_SHAPE_LIMITS: JsonShapeLimits = { maxDepth: 64, maxValues: 100_000 }

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  artifactType?: string
  annotations?: Record<string, string>
  platform?: Record<string, unknown>
  /** Foreign (non-distributable) layers: where else the bytes may be fetched from. */
  urls?: string[]
}

export interface ParsedManifest {
  /** Effective media type: the body's mediaType field, else the request Content-Type, else inferred. */
  mediaType: string
  kind: ManifestKind
  /** The config descriptor of an image manifest; null for an index. */
  config: Descriptor | null
  /** Config and layers of an image manifest, deduplicated by digest, in order: every blob the
   * repository must hold. Foreign layers are not among them. Empty for an index. */
  blobs: Descriptor[]
  /** Layers the repository need not hold (isForeignLayer), deduplicated, minus any digest `blobs`
   * already requires. Empty for an index. */
  foreignLayers: Descriptor[]
  /** Child manifests of an index or manifest list, as written. Empty for an image manifest. */
  manifests: Descriptor[]
  subject: Descriptor | null
  /** For the referrers API: the manifest's artifactType, else (image manifests) config.mediaType. */
  artifactType: string | null
  annotations: Record<string, string> | null
}

/**
 * Content-Types that say "some JSON" rather than which manifest (curl scripts, older tools). They
 * carry no claim, so the body's mediaType or the manifest's shape decides instead.
 */
const GENERIC_CONTENT_TYPES = new Set(['application/json', 'application/octet-stream'])

type JsonObject = Record<string, unknown>

/** Parses and validates a pushed manifest. Throws MANIFEST_INVALID (status 413 when over MAX_MANIFEST_BYTES). */
export function parseManifest(bytes: Uint8Array, contentType: string | null): ParsedManifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    // distribution-spec: a registry may refuse a manifest over its limit with 413.
    throw ociError('MANIFEST_INVALID', {
      message: `manifest is larger than the ${MAX_MANIFEST_BYTES}-byte limit`,
      detail: { limit: MAX_MANIFEST_BYTES, size: bytes.byteLength },
      status: 413,
    })
  }
  const declared = declaredMediaType(contentType)
  if (declared !== null && isSchema1MediaType(declared)) throw schema1Rejected({ contentType: declared })

  const body = decodeJsonObject(bytes)
  const bodyType = optionalString(body, 'mediaType', 'mediaType')
  if (bodyType !== undefined && isSchema1MediaType(bodyType)) throw schema1Rejected({ mediaType: bodyType })
  if (body.schemaVersion === 1) throw schema1Rejected({ schemaVersion: 1 })
  if (body.schemaVersion !== 2) {
    throw invalid(`schemaVersion must be 2, got ${describe(body.schemaVersion)}`, { field: 'schemaVersion' })
  }
  // distribution-spec "Pushing Manifests": when the manifest has a mediaType, the Content-Type
  // must be that type; a contradiction means the client is confused about what it pushes.
  if (bodyType !== undefined && declared !== null && bodyType !== declared) {
    throw invalid(`Content-Type ${declared} does not match the manifest's mediaType ${bodyType}`, {
      contentType: declared,
      mediaType: bodyType,
    })
  }

  // image-spec: mediaType is optional in the body ("SHOULD be used"); then the header tells.
  const mediaType = bodyType ?? declared ?? inferMediaType(body)
  const kind = manifestKind(mediaType)
  if (kind === null) {
    throw invalid(`unsupported manifest media type ${mediaType}; push an OCI or Docker schema 2 manifest`, { mediaType })
  }

  const subject = body.subject == null ? null : parseDescriptor(body.subject, 'subject')
  const annotations = body.annotations == null ? null : parseAnnotations(body.annotations, 'annotations')
  const ownArtifactType = optionalString(body, 'artifactType', 'artifactType') ?? null

  if (kind === 'index') {
    return {
      mediaType,
      kind,
      config: null,
      blobs: [],
      foreignLayers: [],
      manifests: parseDescriptorList(body.manifests, 'manifests'),
      subject,
      artifactType: ownArtifactType,
      annotations,
    }
  }

  if (body.config == null) throw invalid('an image manifest requires a config descriptor', { field: 'config' })
  const config = parseDescriptor(body.config, 'config')
  // image-spec: layers MAY be empty (artifacts); Go clients marshal a nil slice as null.
  const layers = parseDescriptorList(body.layers, 'layers')
  const blobs = uniqueByDigest([config, ...layers.filter((l) => !isForeignLayer(l))])
  const required = new Set(blobs.map((b) => b.digest))
  return {
    mediaType,
    kind,
    config,
    blobs,
    foreignLayers: uniqueByDigest(layers.filter((l) => isForeignLayer(l) && !required.has(l.digest))),
    manifests: [],
    subject,
    // image-spec manifest.md: without artifactType, the artifact type is the config's mediaType.
    artifactType: ownArtifactType ?? config.mediaType,
    annotations,
  }
}

/**
 * A layer whose bytes live outside the registry: a non-distributable (foreign) media type, or
 * `urls` to fetch it from (image-spec descriptor.md). distribution-spec lets a registry accept
 * such a manifest without the blob; we do, whichever of the two marks it (distribution itself
 * still asks for a non-distributable layer that has no urls).
 */
export function isForeignLayer(layer: Descriptor): boolean {
  return isNonDistributableLayerType(layer.mediaType) || (layer.urls !== undefined && layer.urls.length > 0)
}

function declaredMediaType(contentType: string | null): string | null {
  if (contentType === null) return null
  const type = normalizeMediaType(contentType)
  return type === '' || GENERIC_CONTENT_TYPES.has(type) ? null : type
}

/** Throws MANIFEST_INVALID when `shape` (of a whole manifest or of its first bytes) is past the limits. */
export function checkManifestShape(shape: JsonShape): void {
  const { maxDepth, maxValues } = MANIFEST_SHAPE_LIMITS
  if (shape.depth > maxDepth) throw invalid(`manifest nests deeper than ${maxDepth} levels`, { limit: maxDepth })
  if (shape.values > maxValues) throw invalid(`manifest holds more than ${maxValues} JSON values`, { limit: maxValues })
}

function decodeJsonObject(bytes: Uint8Array): JsonObject {
  checkManifestShape(scanJsonShape(bytes, MANIFEST_SHAPE_LIMITS))
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw invalid('manifest is not valid UTF-8 text')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw invalid(`manifest is not valid JSON: ${reason}`)
  }
  if (!isObject(value)) throw invalid(`manifest must be a JSON object, got ${describe(value)}`)
  return value
}

/** Media type when neither the body nor the Content-Type names one: judge by shape. */
function inferMediaType(body: JsonObject): string {
  if (Array.isArray(body.manifests)) return OCI_INDEX
  if (isObject(body.config)) return OCI_MANIFEST
  throw invalid('manifest has no mediaType and no Content-Type, and has neither config nor manifests', {
    field: 'mediaType',
  })
}

function parseDescriptorList(value: unknown, path: string): Descriptor[] {
  if (value == null) return []
  if (!Array.isArray(value)) throw invalid(`${path} must be an array of descriptors`, { field: path })
  return value.map((item, i) => parseDescriptor(item, `${path}[${i}]`))
}

/** image-spec descriptor.md. Unknown fields (e.g. `data`) are dropped, not rejected. */
function parseDescriptor(value: unknown, path: string): Descriptor {
  if (!isObject(value)) throw invalid(`${path} must be a descriptor object`, { field: path })
  const { mediaType, digest, size } = value
  if (typeof mediaType !== 'string' || mediaType === '') {
    throw invalid(`${path}.mediaType must be a non-empty string`, { field: `${path}.mediaType` })
  }
  if (typeof digest !== 'string' || tryParseDigest(digest) === null) {
    throw invalid(`${path}.digest must be a sha256 or sha512 digest`, {
      field: `${path}.digest`,
      digest: typeof digest === 'string' ? digest : null,
    })
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${path}.size must be a non-negative integer`, { field: `${path}.size` })
  }

  const descriptor: Descriptor = { mediaType, digest, size }
  const artifactType = optionalString(value, 'artifactType', `${path}.artifactType`)
  if (artifactType !== undefined) descriptor.artifactType = artifactType
  if (value.annotations != null) descriptor.annotations = parseAnnotations(value.annotations, `${path}.annotations`)
  if (value.platform != null) {
    if (!isObject(value.platform)) throw invalid(`${path}.platform must be an object`, { field: `${path}.platform` })
    descriptor.platform = value.platform
  }
  if (value.urls != null) {
    const urls = value.urls
    if (!Array.isArray(urls) || !urls.every((u) => typeof u === 'string')) {
      throw invalid(`${path}.urls must be an array of strings`, { field: `${path}.urls` })
    }
    descriptor.urls = urls
  }
  return descriptor
}

function parseAnnotations(value: unknown, path: string): Record<string, string> {
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw invalid(`${path} must be an object of string values`, { field: path })
  }
  return value as Record<string, string>
}

/** A string field, or undefined when absent, null or empty (Go's zero value). */
function optionalString(obj: JsonObject, key: string, path: string): string | undefined {
  const value = obj[key]
  if (value == null || value === '') return undefined
  if (typeof value !== 'string') throw invalid(`${path} must be a string`, { field: path })
  return value
}

function uniqueByDigest(descriptors: Descriptor[]): Descriptor[] {
  const seen = new Set<string>()
  return descriptors.filter((d) => !seen.has(d.digest) && seen.add(d.digest))
}

function schema1Rejected(detail: Record<string, unknown>): OciError {
  return invalid('Docker schema 1 manifests are not supported; push a Docker schema 2 or OCI manifest', detail)
}

function invalid(message: string, detail?: unknown): OciError {
  return ociError('MANIFEST_INVALID', { message, detail })
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  return JSON.stringify(value).slice(0, 40)
}
