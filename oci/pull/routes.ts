// The read side of the distribution API (paths under /v2), mounted at / by both the origin and the edge
// (ARCHITECTURE §3): base, manifests GET/HEAD, blobs GET/HEAD with Range, tags, referrers and the
// catalog. Everything is read through a ReadModel; only the bytes of a blob GET differ between
// the apps (the origin opens them, the edge redirects or proxies), so that is a dependency.

import { Hono, type Context } from 'hono'
import { ociError } from '../errors.ts'
import { assertName, parseReference, isValidTag, type Reference } from '../names.ts'
import { isDigest, parseDigest } from '../digest.ts'
import { parseRangeHeader, contentRangeHeader, type ByteRange } from '../range.ts'
import { buildReferrersIndex, filterByArtifactType, FILTERS_APPLIED_HEADER } from '../referrers.ts'
import type { BlobRecord, ManifestRecord, PageRequest, ReadModel } from './read-model.ts'
import { pageOf, readPage } from './paging.ts'
import { acceptedTypes, defaultPlatformChild, isIndex, refusesIndexes } from './negotiate.ts'

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version'
export const API_VERSION = 'registry/2.0'
/** Blobs and manifests by digest never change. */
export const IMMUTABLE = 'max-age=31536000, immutable'

export interface BlobRequest {
  repository: string
  blob: BlobRecord
  /** The satisfiable range asked for, already validated against the size; null: the whole blob. */
  range: ByteRange | null
}

export interface PullDeps {
  model: ReadModel
  /** The answer to a blob GET (not HEAD) for a blob the model says is linked into the repository. */
  serveBlob(c: Context, request: BlobRequest): Promise<Response>
  /** Called when the model has no answer (unknown repository, tag, manifest or blob) before the
   * error is thrown: the edge asks the origin; null keeps the error. */
  onMiss?: (c: Context) => Promise<Response | null>
  /**
   * With access control: the repositories of a catalog page this request's caller may see (those
   * it may pull). Pages are refilled from the model, so a filtered page is short only at the end.
   */
  filterCatalog?: (c: Context, names: string[]) => Promise<string[]>
}

type Missing = { code: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN' | 'NAME_UNKNOWN'; detail: Record<string, unknown> }

export function createPullRoutes(deps: PullDeps): Hono {
  const { model } = deps
  const routes = new Hono()

  /** The miss answer: the fallback's, or the spec error (NAME_UNKNOWN when the repository is unknown). */
  async function miss(c: Context, name: string, missing: Missing): Promise<Response> {
    const fallback = deps.onMiss ? await deps.onMiss(c) : null
    if (fallback) return fallback
    if (missing.code !== 'NAME_UNKNOWN' && !(await model.hasRepository(name))) throw ociError('NAME_UNKNOWN', { detail: { name } })
    throw ociError(missing.code, { detail: missing.detail })
  }

  /** `p.n` names from the catalog after `p.last` that the filter keeps (all of them without one). */
  async function visibleCatalog(c: Context, p: PageRequest): Promise<string[]> {
    const filter = deps.filterCatalog
    if (!filter) return model.catalog(p)
    const out: string[] = []
    let last = p.last
    for (;;) {
      const names = await model.catalog({ n: p.n, last })
      out.push(...await filter(c, names))
      if (out.length >= p.n || names.length < p.n) return out.slice(0, p.n)
      last = names[names.length - 1]!
    }
  }

  // distribution-spec end-1: 200 means the registry implements the spec.
  const base = (c: Context) => {
    c.header(API_VERSION_HEADER, API_VERSION)
    return c.json({})
  }
  // Clients ping `GET /v2/` (end-1); `/v2` answers too.
  routes.get('/v2/', base)
  routes.get('/v2', base)

  // distribution-spec end-3: the stored bytes with the stored media type. A reference that is
  // neither a valid tag nor a valid digest names no manifest: 404, as distribution answers.
  routes.get('/v2/:name{.+}/manifests/:reference', async (c) => {
    const name = assertName(c.req.param('name'))
    const raw = c.req.param('reference')
    const reference = validReference(raw)
    const detail = reference?.kind === 'digest' ? { digest: reference.digest } : { tag: raw }
    let manifest = reference ? await model.manifest(name, reference) : null
    if (!manifest) return miss(c, name, { code: 'MANIFEST_UNKNOWN', detail })
    if (reference!.kind === 'tag' && isIndex(manifest.mediaType) && refusesIndexes(acceptedTypes(c.req.header('accept')))) {
      const child = defaultPlatformChild(manifest.payload)
      manifest = child ? await model.manifest(name, { kind: 'digest', digest: child }) : null
      // The child may not be in this model yet (an edge's index lags): the fallback decides.
      if (!manifest && child) return miss(c, name, { code: 'MANIFEST_UNKNOWN', detail })
      if (!manifest) throw ociError('MANIFEST_UNKNOWN', { message: 'the tag names an image index and the client accepts no index type', detail })
    }
    return manifestResponse(c, manifest, reference!.kind === 'digest')
  })

  // distribution-spec end-2. HEAD is answered from the model alone: no bytes are opened, and the
  // edge never redirects a HEAD to a URL signed for GET.
  routes.get('/v2/:name{.+}/blobs/:digest', async (c) => {
    const name = assertName(c.req.param('name'))
    const digest = digestParam(c.req.param('digest'))
    const blob = await model.blob(name, digest)
    if (!blob) return miss(c, name, { code: 'BLOB_UNKNOWN', detail: { digest } })
    if (c.req.method === 'HEAD') {
      blobHeaders(c, blob)
      c.header('Content-Length', String(blob.size))
      return c.body(null, 200)
    }
    const range = parseRangeHeader(c.req.header('range') ?? null, blob.size)
    return deps.serveBlob(c, { repository: name, blob, range })
  })

  // distribution-spec end-8a/8b: tags in lexical order, `n` and `last`, Link to the next page.
  routes.get('/v2/:name{.+}/tags/list', async (c) => {
    const name = assertName(c.req.param('name'))
    const page = pageOf((k) => c.req.query(k))
    if (!(await model.hasRepository(name))) return miss(c, name, { code: 'NAME_UNKNOWN', detail: { name } })
    const { names, link } = await readPage(`/v2/${name}/tags/list`, page, (p) => model.tags(name, p))
    c.header(API_VERSION_HEADER, API_VERSION)
    if (link) c.header('Link', link)
    return c.json({ name, tags: names })
  })

  // distribution-spec end-12a/12b: always 200 with an image index (never 404), optionally
  // filtered by artifactType, saying so in OCI-Filters-Applied.
  routes.get('/v2/:name{.+}/referrers/:digest', async (c) => {
    const name = assertName(c.req.param('name'))
    const digest = digestParam(c.req.param('digest'))
    // Referrers always answer 200, but a repository this model does not know yet may be known to
    // the fallback (an edge's index right after a first push).
    if (deps.onMiss && !(await model.hasRepository(name))) {
      const fallback = await deps.onMiss(c)
      if (fallback) return fallback
    }
    const all = await model.referrers(name, digest)
    // An empty `?artifactType=` filters nothing (and so must not claim OCI-Filters-Applied).
    const artifactType = c.req.query('artifactType') || null
    const descriptors = filterByArtifactType(all.map((r) => ({
      mediaType: r.mediaType, digest: r.digest, size: r.size,
      ...(r.artifactType ? { artifactType: r.artifactType } : {}),
      ...(r.annotations ? { annotations: r.annotations } : {}),
    })), artifactType)
    const index = buildReferrersIndex(descriptors)
    c.header(API_VERSION_HEADER, API_VERSION)
    if (artifactType) c.header(FILTERS_APPLIED_HEADER, 'artifactType')
    c.header('Content-Type', index.mediaType)
    return c.body(index.body, 200)
  })

  // distribution's catalog API (not in the OCI spec), paginated like tags.
  routes.get('/v2/_catalog', async (c) => {
    const page = pageOf((k) => c.req.query(k))
    const { names, link } = await readPage('/v2/_catalog', page, (p) => visibleCatalog(c, p))
    c.header(API_VERSION_HEADER, API_VERSION)
    if (link) c.header('Link', link)
    return c.json({ repositories: names })
  })

  return routes
}

/** The headers of a blob answer (GET, HEAD, 206), but Content-Length. */
export function blobHeaders(c: Context, blob: BlobRecord): void {
  c.header(API_VERSION_HEADER, API_VERSION)
  c.header('Docker-Content-Digest', blob.digest)
  c.header('Accept-Ranges', 'bytes')
  c.header('Content-Type', 'application/octet-stream')
  c.header('Cache-Control', IMMUTABLE)
}

/** A blob's bytes as a 200 or, for a range, a 206 with Content-Range. */
export function blobBytesResponse(c: Context, request: BlobRequest, body: ReadableStream<Uint8Array>): Response {
  const { blob, range } = request
  blobHeaders(c, blob)
  if (range) {
    c.header('Content-Range', contentRangeHeader(range, blob.size))
    c.header('Content-Length', String(range.end - range.start + 1))
    return c.body(body, 206)
  }
  c.header('Content-Length', String(blob.size))
  return c.body(body, 200)
}

function manifestResponse(c: Context, manifest: ManifestRecord, byDigest: boolean): Response {
  c.header(API_VERSION_HEADER, API_VERSION)
  c.header('Content-Type', manifest.mediaType)
  c.header('Content-Length', String(manifest.size))
  c.header('Docker-Content-Digest', manifest.digest)
  c.header('Cache-Control', byDigest ? IMMUTABLE : 'no-cache')
  return c.body(manifest.payload as Uint8Array<ArrayBuffer>, 200)
}

/** A tag or digest reference, or null when the text is neither (404 for reads, not 400). */
function validReference(raw: string): Reference | null {
  if (raw.includes(':')) return isDigest(raw) ? { kind: 'digest', digest: raw } : null
  return isValidTag(raw) ? parseReference(raw) : null
}

/** The digest path parameter of blobs and referrers: DIGEST_INVALID when malformed. */
function digestParam(value: string): string {
  parseDigest(value)
  return value
}
