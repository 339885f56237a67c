// Manifest `Accept` negotiation, as distribution does it for clients that cannot read an index: a
// GET by TAG of an image index (or Docker manifest list) from a client whose Accept header names
// manifest media types but no index type is answered with the index's linux/amd64 image, if it
// has one, else MANIFEST_UNKNOWN. Clients that send no manifest media type (curl, most tools) and
// every GET by digest get the stored manifest as it was pushed.

import { DOCKER_MANIFEST_LIST, MANIFEST_MEDIA_TYPES, OCI_INDEX, manifestKind } from '../media-types.ts'

const INDEX_TYPES = [OCI_INDEX, DOCKER_MANIFEST_LIST]

/** Media types named in an Accept header (parameters and q-values dropped). */
export function acceptedTypes(accept: string | null | undefined): string[] {
  if (!accept) return []
  return accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase()).filter((t) => t.length > 0)
}

/** True when the client said which manifest types it reads and an index is not one of them. */
export function refusesIndexes(accepted: string[]): boolean {
  if (accepted.includes('*/*') || accepted.includes('application/*')) return false
  const named = accepted.filter((t) => MANIFEST_MEDIA_TYPES.includes(t))
  return named.length > 0 && !named.some((t) => INDEX_TYPES.includes(t))
}

export function isIndex(mediaType: string): boolean {
  return manifestKind(mediaType) === 'index'
}

/** The digest of the linux/amd64 entry of an index payload, or null. */
export function defaultPlatformChild(payload: Uint8Array): string | null {
  try {
    const index = JSON.parse(new TextDecoder().decode(payload)) as { manifests?: { digest?: unknown; platform?: { os?: unknown; architecture?: unknown } }[] }
    const child = index.manifests?.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64')
    return typeof child?.digest === 'string' ? child.digest : null
  } catch {
    return null
  }
}
