// What a manifest PUT (distribution-spec end-7) decides beyond its bytes: the tags it applies, and
// which of the manifest's references the repository must already hold.

import { ociError } from '../../oci/errors.ts'
import { isValidTag, type Reference } from '../../oci/names.ts'
import type { Descriptor, ParsedManifest } from '../../oci/manifest.ts'
import { missingBlobs, missingManifests, type ManifestRefs } from '../../db/queries/manifests.ts'
import type { Tx } from '../../db/queries/changes.ts'

/**
 * distribution-spec main, "Pushing Manifests": a registry taking `?tag=` SHOULD take at least 10
 * per request and MAY answer 414 past its limit. 100 tags of the longest kind (128 characters)
 * still fit Node's default 16 KiB request head.
 */
export const MAX_TAGS_PER_PUSH = 100

/**
 * The tags a PUT applies: the reference when it is a tag, then every `?tag=` value, once each, in
 * order. The spec defines `?tag=` for a push by digest (so a manifest hashed with sha512 can be
 * tagged at all: a push by tag is always hashed with sha256); a push by tag that carries `?tag=`
 * too gets them all, and its `OCI-Tag` headers say so. A value that is not a tag is refused with
 * MANIFEST_INVALID, as an invalid tag in the path is, before the body is read; nothing is stored.
 */
export function tagsToApply(ref: Reference, queryTags: readonly string[]): string[] {
  if (queryTags.length > MAX_TAGS_PER_PUSH) {
    throw ociError('MANIFEST_INVALID', {
      status: 414,
      message: `at most ${MAX_TAGS_PER_PUSH} tag parameters per manifest push`,
      detail: { limit: MAX_TAGS_PER_PUSH, tags: queryTags.length },
    })
  }
  const invalid = queryTags.find((tag) => !isValidTag(tag))
  if (invalid !== undefined) throw ociError('MANIFEST_INVALID', { message: 'invalid tag', detail: { tag: invalid } })
  return [...new Set([...(ref.kind === 'tag' ? [ref.tag] : []), ...queryTags])]
}

export interface ReferenceRules {
  /** The repository accepts an index whose child manifests it lacks (namespaces[].allowSparseIndexes). */
  sparseIndex: boolean
}

/**
 * Checks a manifest's references against a repository, and answers those to record. Required:
 * the config and every ordinary layer (blobs linked into the repository), and the children of an
 * index (manifests of the repository) unless sparse indexes are allowed. Optional, recorded only
 * when present: foreign layers (oci/manifest.ts isForeignLayer; their bytes live elsewhere) and the
 * children of a sparse index. The subject is neither: a referrer may precede its subject.
 * Throws MANIFEST_BLOB_UNKNOWN naming every missing required digest. `repositoryId` null: the
 * repository does not exist yet, so it holds nothing.
 */
export function referenceCheck(parsed: ParsedManifest, rules: ReferenceRules): (tx: Tx, repositoryId: number | null) => Promise<ManifestRefs> {
  const children = digestsOf(parsed.manifests)
  const required: ManifestRefs = { blobs: digestsOf(parsed.blobs), manifests: rules.sparseIndex ? [] : children }
  const optional: ManifestRefs = { blobs: digestsOf(parsed.foreignLayers), manifests: rules.sparseIndex ? children : [] }
  // Only reads through `tx` (it runs inside the manifest's commit transaction, maybe more than once).
  return async (tx, repositoryId) => {
    const lacking = async (refs: ManifestRefs): Promise<ManifestRefs> => repositoryId === null
      ? refs
      : { blobs: await missingBlobs(tx, repositoryId, refs.blobs), manifests: await missingManifests(tx, repositoryId, refs.manifests) }
    const missing = await lacking(required)
    if (missing.blobs.length > 0 || missing.manifests.length > 0) {
      throw ociError('MANIFEST_BLOB_UNKNOWN', { detail: { digests: [...missing.blobs, ...missing.manifests] } })
    }
    const absent = await lacking(optional)
    return {
      blobs: [...required.blobs, ...without(optional.blobs, absent.blobs)],
      manifests: [...required.manifests, ...without(optional.manifests, absent.manifests)],
    }
  }
}

function digestsOf(descriptors: Descriptor[]): string[] {
  return [...new Set(descriptors.map((d) => d.digest))]
}

function without(digests: string[], drop: string[]): string[] {
  const dropped = new Set(drop)
  return digests.filter((d) => !dropped.has(d))
}
