// Media types of the manifests we accept (image-spec media-types.md, Docker Image Manifest V2
// Schema 2) and of the ones we name in order to refuse them (Docker schema 1).

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
export const DOCKER_SCHEMA1_MANIFEST = 'application/vnd.docker.distribution.manifest.v1+json'
export const DOCKER_SCHEMA1_SIGNED_MANIFEST = 'application/vnd.docker.distribution.manifest.v1+prettyjws'

export const OCI_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json'
/** image-spec manifest.md "Guidance for an Empty Descriptor": the config of artifacts. */
export const OCI_EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json'
export const DOCKER_IMAGE_CONFIG = 'application/vnd.docker.container.image.v1+json'

/**
 * Layers whose bytes the registry need not hold (image-spec layer.md "Non-distributable layers",
 * deprecated but still pushed, and Docker's foreign layers, Windows base images): a client fetches
 * them from the descriptor's `urls`.
 */
const NON_DISTRIBUTABLE_LAYER_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.foreign.diff.tar',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
])

export function isNonDistributableLayerType(mediaType: string): boolean {
  return NON_DISTRIBUTABLE_LAYER_TYPES.has(mediaType)
}

export type ManifestKind = 'image' | 'index'

const KIND_BY_MEDIA_TYPE: Record<string, ManifestKind> = {
  [OCI_MANIFEST]: 'image',
  [DOCKER_MANIFEST]: 'image',
  [OCI_INDEX]: 'index',
  [DOCKER_MANIFEST_LIST]: 'index',
}

/** Every manifest media type we store and serve, e.g. for an `Accept` header. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = Object.keys(KIND_BY_MEDIA_TYPE)

/** 'image' or 'index' for a supported manifest media type, else null. */
export function manifestKind(mediaType: string): ManifestKind | null {
  return Object.hasOwn(KIND_BY_MEDIA_TYPE, mediaType) ? KIND_BY_MEDIA_TYPE[mediaType]! : null
}

export function isSchema1MediaType(mediaType: string): boolean {
  return mediaType === DOCKER_SCHEMA1_MANIFEST || mediaType === DOCKER_SCHEMA1_SIGNED_MANIFEST
}

/** The bare type of a header value: parameters dropped, lowercased (RFC 9110 §8.3.1). */
export function normalizeMediaType(value: string): string {
  const semicolon = value.indexOf(';')
  return (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase()
}
