// The referrers API response (distribution-spec "Listing Referrers"): an OCI image index whose
// manifests are the descriptors of every manifest whose `subject` is the requested digest.

import type { Descriptor, ParsedManifest } from './manifest.ts'
import { OCI_INDEX } from './media-types.ts'

/** distribution-spec: set on the response when the artifactType filter was applied. */
export const FILTERS_APPLIED_HEADER = 'OCI-Filters-Applied'

/**
 * The referrers list entry for a pushed manifest. Its artifactType is the manifest's, else the
 * config's mediaType (ParsedManifest.artifactType already applies that rule); its annotations are
 * the manifest's own (distribution-spec: "the annotations of the image or index").
 */
export function referrerDescriptor(manifest: ParsedManifest, digest: string, size: number): Descriptor {
  const descriptor: Descriptor = { mediaType: manifest.mediaType, digest, size }
  if (manifest.artifactType !== null) descriptor.artifactType = manifest.artifactType
  if (manifest.annotations !== null) descriptor.annotations = manifest.annotations
  return descriptor
}

/**
 * The response body. With no referrers it is still an index with an empty `manifests` list:
 * the spec answers 200, never 404, for a digest without referrers.
 */
export function buildReferrersIndex(descriptors: Descriptor[]): { body: string; mediaType: string } {
  const manifests = descriptors.map((d) => {
    const entry: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size }
    if (d.artifactType !== undefined) entry.artifactType = d.artifactType
    if (d.annotations !== undefined) entry.annotations = d.annotations
    return entry
  })
  const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })
  return { body, mediaType: OCI_INDEX }
}

/** The `?artifactType=` filter; null keeps every descriptor. */
export function filterByArtifactType(descriptors: Descriptor[], artifactType: string | null): Descriptor[] {
  if (artifactType === null) return descriptors
  return descriptors.filter((d) => d.artifactType === artifactType)
}
