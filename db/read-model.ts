// The origin's ReadModel (oci/pull/read-model.ts) over its own database. Every query is prepared
// once, when the model is made: a manifest GET by tag is one prepared statement joining
// repositories, tags and manifests, with no query building or SQL parsing per request.

import { and, asc, eq, gt, max, sql } from 'drizzle-orm'
import type { Db } from './client.ts'
import type { ReadModel, ReferrerRecord } from '../oci/pull/read-model.ts'
import { blobs, changes, manifests, placements, repositories, repositoryBlobs, tags } from './schema.ts'

const p = sql.placeholder

export function createDbReadModel(db: Db): ReadModel {
  const manifestColumns = { digest: manifests.digest, mediaType: manifests.mediaType, size: manifests.size, payload: manifests.payload }
  const repositoryByName = db.select({ id: repositories.id }).from(repositories).where(eq(repositories.name, p('name'))).prepare()
  const manifestByTag = db.select(manifestColumns).from(repositories)
    .innerJoin(tags, eq(tags.repositoryId, repositories.id))
    .innerJoin(manifests, and(eq(manifests.repositoryId, repositories.id), eq(manifests.digest, tags.digest)))
    .where(and(eq(repositories.name, p('name')), eq(tags.name, p('tag')))).prepare()
  const manifestByDigest = db.select(manifestColumns).from(repositories)
    .innerJoin(manifests, eq(manifests.repositoryId, repositories.id))
    .where(and(eq(repositories.name, p('name')), eq(manifests.digest, p('digest')))).prepare()
  const linkedBlob = db.select({ digest: blobs.digest, size: blobs.size }).from(repositories)
    .innerJoin(repositoryBlobs, eq(repositoryBlobs.repositoryId, repositories.id))
    .innerJoin(blobs, eq(blobs.digest, repositoryBlobs.digest))
    .where(and(eq(repositories.name, p('name')), eq(repositoryBlobs.digest, p('digest')))).prepare()
  const presentAt = db.select({ location: placements.location }).from(placements)
    .where(and(eq(placements.digest, p('digest')), eq(placements.state, 'present'))).prepare()
  // Names are never empty, so `> ''` is "from the first".
  const tagPage = db.select({ name: tags.name }).from(repositories)
    .innerJoin(tags, eq(tags.repositoryId, repositories.id))
    .where(and(eq(repositories.name, p('name')), gt(tags.name, p('last'))))
    .orderBy(asc(tags.name)).limit(p('n')).prepare()
  const catalogPage = db.select({ name: repositories.name }).from(repositories)
    .where(gt(repositories.name, p('last'))).orderBy(asc(repositories.name)).limit(p('n')).prepare()
  const referrersOf = db.select({ digest: manifests.digest, mediaType: manifests.mediaType, size: manifests.size, artifactType: manifests.artifactType, annotations: manifests.annotations })
    .from(repositories).innerJoin(manifests, eq(manifests.repositoryId, repositories.id))
    .where(and(eq(repositories.name, p('name')), eq(manifests.subjectDigest, p('digest'))))
    .orderBy(asc(manifests.digest)).prepare()
  const lastChange = db.select({ seq: max(changes.seq) }).from(changes).prepare()

  return {
    async hasRepository(name) {
      return repositoryByName.get({ name }) !== undefined
    },
    async manifest(name, reference) {
      const row = reference.kind === 'tag' ? manifestByTag.get({ name, tag: reference.tag }) : manifestByDigest.get({ name, digest: reference.digest })
      // The driver's Buffer is a Uint8Array: no copy.
      return row ?? null
    },
    async blob(name, digest) {
      return linkedBlob.get({ name, digest }) ?? null
    },
    async placements(digest) {
      return presentAt.all({ digest }).map((r) => r.location)
    },
    async tags(name, page) {
      return tagPage.all({ name, last: page.last ?? '', n: page.n }).map((r) => r.name)
    },
    async catalog(page) {
      return catalogPage.all({ last: page.last ?? '', n: page.n }).map((r) => r.name)
    },
    async referrers(name, digest): Promise<ReferrerRecord[]> {
      return referrersOf.all({ name, digest }).map((r) => ({ ...r, annotations: r.annotations ? JSON.parse(r.annotations) as Record<string, string> : null }))
    },
    async position() {
      return lastChange.get()?.seq ?? 0
    },
  }
}
