// What the change feed and the snapshot read (origin/feed/*), prepared once per database: an
// edge polls the feed all day, so no query is rebuilt or re-prepared per request.

import { and, asc, eq, gt, max, sql } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { blobs, changes, manifests, placements, publicRepositories, repositories, repositoryBlobs, settings, tags } from '../schema.ts'
import { PRUNED_THROUGH } from './change-pruning.ts'

export interface ChangeRow { seq: number; kind: string; repository: string | null; payload: string; at: number }

export interface ManifestMeta {
  repositoryId: number; repository: string; digest: string; mediaType: string; size: number
  subject: string | null; artifactType: string | null; annotations: string | null
}

export interface FeedQueries {
  /** The newest seq, 0 for an empty log. */
  head(): Promise<number>
  changesAfter(after: number, limit: number): Promise<ChangeRow[]>
  /** The highest seq pruned from the log (db/queries/change-pruning.ts), 0 when none was. */
  prunedThrough(): Promise<number>
  /** The stored bytes of a manifest, null when it is gone. */
  manifestPayload(repository: string, digest: string): Promise<{ payload: Buffer; artifactType: string | null; annotations: string | null } | null>
  blobSize(digest: string): Promise<number | null>
  // Keyset pages for the snapshot: each takes the last key of the previous page.
  repositoriesAfter(id: number, limit: number): Promise<{ id: number; name: string }[]>
  tagsAfter(repositoryId: number, name: string, limit: number): Promise<{ repositoryId: number; repository: string; name: string; digest: string }[]>
  manifestsAfter(repositoryId: number, digest: string, limit: number): Promise<ManifestMeta[]>
  manifestBytes(repositoryId: number, digest: string): Promise<Buffer | null>
  linkedBlobsAfter(repositoryId: number, digest: string, limit: number): Promise<{ repositoryId: number; repository: string; digest: string; size: number }[]>
  presentPlacementsAfter(digest: string, location: string, limit: number): Promise<{ digest: string; location: string; size: number }[]>
  /** Repositories readable anonymously, by name (access control). */
  publicRepositoriesAfter(repository: string, limit: number): Promise<{ repository: string }[]>
}

const p = sql.placeholder

export function prepareFeedQueries(db: Db): FeedQueries {
  const head = db.select({ seq: max(changes.seq) }).from(changes).prepare()
  const page = db.select().from(changes).where(gt(changes.seq, p('after'))).orderBy(asc(changes.seq)).limit(p('limit')).prepare()
  const prunedThrough = db.select({ value: settings.value }).from(settings).where(eq(settings.name, PRUNED_THROUGH)).prepare()
  const manifestPayload = db.select({ payload: manifests.payload, artifactType: manifests.artifactType, annotations: manifests.annotations })
    .from(manifests).innerJoin(repositories, eq(repositories.id, manifests.repositoryId))
    .where(and(eq(repositories.name, p('repository')), eq(manifests.digest, p('digest')))).prepare()
  const blobSize = db.select({ size: blobs.size }).from(blobs).where(eq(blobs.digest, p('digest'))).prepare()
  const repositoryPage = db.select({ id: repositories.id, name: repositories.name }).from(repositories)
    .where(gt(repositories.id, p('id'))).orderBy(asc(repositories.id)).limit(p('limit')).prepare()
  // Row values compare lexicographically (SQLite ≥ 3.15): the composite primary key is the keyset.
  const tagPage = db.select({ repositoryId: tags.repositoryId, repository: repositories.name, name: tags.name, digest: tags.digest })
    .from(tags).innerJoin(repositories, eq(repositories.id, tags.repositoryId))
    .where(sql`(${tags.repositoryId}, ${tags.name}) > (${p('r')}, ${p('k')})`)
    .orderBy(asc(tags.repositoryId), asc(tags.name)).limit(p('limit')).prepare()
  const manifestPage = db.select({
    repositoryId: manifests.repositoryId, repository: repositories.name, digest: manifests.digest, mediaType: manifests.mediaType,
    size: manifests.size, subject: manifests.subjectDigest, artifactType: manifests.artifactType, annotations: manifests.annotations,
  }).from(manifests).innerJoin(repositories, eq(repositories.id, manifests.repositoryId))
    .where(sql`(${manifests.repositoryId}, ${manifests.digest}) > (${p('r')}, ${p('k')})`)
    .orderBy(asc(manifests.repositoryId), asc(manifests.digest)).limit(p('limit')).prepare()
  const manifestBytes = db.select({ payload: manifests.payload }).from(manifests)
    .where(and(eq(manifests.repositoryId, p('r')), eq(manifests.digest, p('k')))).prepare()
  const linkedPage = db.select({ repositoryId: repositoryBlobs.repositoryId, repository: repositories.name, digest: repositoryBlobs.digest, size: blobs.size })
    .from(repositoryBlobs).innerJoin(repositories, eq(repositories.id, repositoryBlobs.repositoryId)).innerJoin(blobs, eq(blobs.digest, repositoryBlobs.digest))
    .where(sql`(${repositoryBlobs.repositoryId}, ${repositoryBlobs.digest}) > (${p('r')}, ${p('k')})`)
    .orderBy(asc(repositoryBlobs.repositoryId), asc(repositoryBlobs.digest)).limit(p('limit')).prepare()
  const placementPage = db.select({ digest: placements.digest, location: placements.location, size: placements.size }).from(placements)
    .where(and(eq(placements.state, 'present'), sql`(${placements.digest}, ${placements.location}) > (${p('d')}, ${p('l')})`))
    .orderBy(asc(placements.digest), asc(placements.location)).limit(p('limit')).prepare()
  const publicPage = db.select({ repository: publicRepositories.repository }).from(publicRepositories)
    .where(gt(publicRepositories.repository, p('r'))).orderBy(asc(publicRepositories.repository)).limit(p('limit')).prepare()

  return {
    head: async () => (await head.get())?.seq ?? 0,
    changesAfter: (after, limit) => page.all({ after, limit }),
    prunedThrough: async () => Number((await prunedThrough.get())?.value ?? 0),
    manifestPayload: async (repository, digest) => (await manifestPayload.get({ repository, digest })) ?? null,
    blobSize: async (digest) => (await blobSize.get({ digest }))?.size ?? null,
    repositoriesAfter: (id, limit) => repositoryPage.all({ id, limit }),
    tagsAfter: (r, k, limit) => tagPage.all({ r, k, limit }),
    manifestsAfter: (r, k, limit) => manifestPage.all({ r, k, limit }),
    manifestBytes: async (r, k) => (await manifestBytes.get({ r, k }))?.payload ?? null,
    linkedBlobsAfter: (r, k, limit) => linkedPage.all({ r, k, limit }),
    presentPlacementsAfter: (d, l, limit) => placementPage.all({ d, l, limit }),
    publicRepositoriesAfter: (r, limit) => publicPage.all({ r, limit }),
  }
}
