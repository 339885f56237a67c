import { Hono } from 'hono'
import type { OriginEnv } from '../deps.ts'
import { ociError } from '../../oci/errors.ts'
import { parseReference, type Reference } from '../../oci/names.ts'
import { readBounded } from '../../oci/body.ts'
import { checkManifestShape, parseManifest, MANIFEST_SHAPE_LIMITS, MAX_MANIFEST_BYTES } from '../../oci/manifest.ts'
import { createJsonShapeScanner } from '../../oci/json-shape.ts'
import { deleteManifest, deleteTag, putManifest } from '../../db/queries/manifests.ts'
import { parseDigest } from '../../oci/digest.ts'
import { referenceCheck, tagsToApply } from './manifest-push.ts'
import { writeVerifiedBlob } from '../uploads/write.ts'
import type { Reservation } from '../budget.ts'
import { apiHeaders, depsOf, nameOf, requireRepository, type OriginContext } from './context.ts'
import { findRepository } from '../../db/queries/repositories.ts'

export const manifestRoutes = new Hono<OriginEnv>()

/** Whole body within this long of the request's arrival, or 408: a trickled body must not hold
 * its share of the byte budget for long. */
const MANIFEST_BODY_TIMEOUT_MS = 30_000

// distribution-spec end-7: PUT by tag or digest. References must exist in the repository, except
// the subject (a referrer may be pushed before its subject).
// Two bounds keep memory in check however many arrive at once, and neither lets a slow client hold
// others up: the body is read under a byte budget (deps.manifestBodyBudget) that counts only what
// has arrived, plus the next read; then JSON.parse, validation and the storage write, which no
// client can slow down, run a few at a time (deps.manifestSlots).
manifestRoutes.put('/:name{.+}/manifests/:reference', async (c) => {
  const deps = depsOf(c)
  const name = nameOf(c)
  const ref = parseReference(c.req.param('reference') ?? '')
  const tags = tagsToApply(ref, c.req.queries('tag') ?? [])
  const reservation = deps.manifestBodyBudget.open()
  try {
    const payload = await readManifestBody(c, reservation)
    const release = await deps.manifestSlots.acquire()
    try {
      return await storeManifest(c, name, ref, tags, payload)
    } finally {
      release()
    }
  } finally {
    reservation.release()
  }
})

function readManifestBody(c: OriginContext, reservation: Reservation): Promise<Uint8Array> {
  const declared = c.req.header('content-length')
  // Nesting and value counts are checked as the bytes arrive: 4 MiB of `[[[[…` is refused after
  // its first chunk, before the rest is read and joined.
  const shape = createJsonShapeScanner(MANIFEST_SHAPE_LIMITS)
  return readBounded(c.req.raw.body, MAX_MANIFEST_BYTES, {
    timeoutMs: MANIFEST_BODY_TIMEOUT_MS,
    inspect: (chunk) => checkManifestShape(shape.push(chunk)),
    expectedBytes: declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null,
    // A body refused for want of budget gives back what it held at once: the rest of it is read
    // and dropped, so the client, maybe still sending, gets the 503 rather than a reset.
    hold: (bytes) => reservation.grow(bytes).catch((err: unknown) => {
      reservation.release()
      throw err
    }),
  })
}

// The digest is taken with the reference's algorithm (sha512 stays sha512: Location,
// Docker-Content-Digest, the blob key and placement all use it); a push by tag hashes with sha256.
async function storeManifest(c: OriginContext, name: string, ref: Reference, tags: string[], payload: Uint8Array) {
  const deps = depsOf(c)
  const parsed = parseManifest(payload, c.req.header('content-type') ?? null)
  const algorithm = ref.kind === 'digest' ? parseDigest(ref.digest).algorithm : 'sha256'
  const hasher = deps.createHasher(algorithm)
  hasher.update(payload)
  const digest = `${algorithm}:${hasher.hex()}`
  if (ref.kind === 'digest' && ref.digest !== digest) {
    throw ociError('DIGEST_INVALID', { message: 'manifest digest does not match the reference', detail: { expected: ref.digest, actual: digest } })
  }
  const references = referenceCheck(parsed, { sparseIndex: parsed.kind === 'index' && deps.allowsSparseIndexes(name) })
  // Fail fast, before storing bytes; checked again inside the commit transaction.
  await references(deps.db, (await findRepository(deps.db, name))?.id ?? null)
  const { location } = await writeVerifiedBlob(deps, name, { digest, size: payload.byteLength }, () => new Response(payload as Uint8Array<ArrayBuffer>).body!, { fromClient: false })
  await putManifest(deps.db, {
    repository: name, digest, mediaType: parsed.mediaType, payload,
    subjectDigest: parsed.subject?.digest ?? null, artifactType: parsed.artifactType, annotations: parsed.annotations,
    tags, location: location.id, targetsFor: deps.replicationTargets,
  }, (tx, repo) => references(tx, repo.id))
  deps.onCommit()
  apiHeaders(c)
  c.header('Location', `/v2/${name}/manifests/${digest}`)
  c.header('Docker-Content-Digest', digest)
  c.header('Content-Length', '0')
  if (parsed.subject) c.header('OCI-Subject', parsed.subject.digest)
  // distribution-spec main: an OCI-Tag value per tag applied (several fields or one list, RFC 9110 §5.3).
  for (const tag of tags) c.header('OCI-Tag', tag, { append: true })
  return c.body(null, 201)
}

// distribution-spec end-9 (by digest: the manifest and its tags) and end-9 by tag (untag).
manifestRoutes.delete('/:name{.+}/manifests/:reference', async (c) => {
  const deps = depsOf(c)
  if (!deps.deleteEnabled) throw ociError('UNSUPPORTED', { status: 405, message: 'deletes are disabled on this registry' })
  const name = nameOf(c)
  const ref = parseReference(c.req.param('reference') ?? '')
  const repo = await requireRepository(c, name)
  const deleted = ref.kind === 'digest' ? await deleteManifest(deps.db, repo, ref.digest) : await deleteTag(deps.db, repo, ref.tag)
  if (!deleted) throw ociError('MANIFEST_UNKNOWN', { detail: ref.kind === 'tag' ? { tag: ref.tag } : { digest: ref.digest } })
  apiHeaders(c)
  return c.body(null, 202)
})
