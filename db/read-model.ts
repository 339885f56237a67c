// The origin's ReadModel (oci/pull/read-model.ts) over its own database. Every query is prepared
// once, when the model is made: a manifest GET by tag is one prepared statement joining
// repositories, tags and manifests, with no query building or SQL parsing per request.
// The statements every pull runs (repository, manifest, linked blob) go further: drizzle writes
// their SQL once from the schema, and the engine runs it in array mode (a cached prepared statement
// on SQLite, a named one on PostgreSQL), skipping drizzle's placeholder filling and row mapping per
// call (~30 % of a lookup's CPU on SQLite, measured in isolation).

import { and, asc, eq, gt, max, sql, Placeholder } from 'drizzle-orm'
import type { Db } from './client.ts'
import type { ReadModel, ReferrerRecord } from '../oci/pull/read-model.ts'
import { blobs, changes, manifests, placements, repositories, repositoryBlobs, tags } from './schema.ts'

const p = sql.placeholder

/**
 * The query's SQL as a raw statement returning rows as arrays (columns in select order), whose
 * parameters are exactly the placeholders `order`, in that order: checked here, once, so a change
 * to the query that reorders them fails when the model is made rather than answering wrongly.
 */
function rawStatement(db: Db, query: { toSQL(): { sql: string; params: unknown[] } }, order: string[]): { get(...params: unknown[]): Promise<unknown[] | undefined> } {
  const { sql: text, params } = query.toSQL()
  const names = params.map((param) => (param instanceof Placeholder ? param.name : `literal ${String(param)}`))
  if (names.join() !== order.join()) throw new Error(`read model: expected parameters ${order.join()}, the query has ${names.join()}`)
  return { get: async (...params) => (await db.$execute(text, params, 'get')).rows as unknown[] | undefined }
}

type ManifestRow = [digest: string, mediaType: string, size: number, payload: Uint8Array]
const manifestOf = (row: ManifestRow | undefined) => (row ? { digest: row[0], mediaType: row[1], size: row[2], payload: row[3] } : null)

export function createDbReadModel(db: Db): ReadModel {
  const manifestColumns = { digest: manifests.digest, mediaType: manifests.mediaType, size: manifests.size, payload: manifests.payload }
  const repositoryByName = rawStatement(db, db.select({ id: repositories.id }).from(repositories).where(eq(repositories.name, p('name'))), ['name'])
  const manifestByTag = rawStatement(db, db.select(manifestColumns).from(repositories)
    .innerJoin(tags, eq(tags.repositoryId, repositories.id))
    .innerJoin(manifests, and(eq(manifests.repositoryId, repositories.id), eq(manifests.digest, tags.digest)))
    .where(and(eq(repositories.name, p('name')), eq(tags.name, p('tag')))), ['name', 'tag'])
  const manifestByDigest = rawStatement(db, db.select(manifestColumns).from(repositories)
    .innerJoin(manifests, eq(manifests.repositoryId, repositories.id))
    .where(and(eq(repositories.name, p('name')), eq(manifests.digest, p('digest')))), ['name', 'digest'])
  const linkedBlob = rawStatement(db, db.select({ digest: blobs.digest, size: blobs.size }).from(repositories)
    .innerJoin(repositoryBlobs, eq(repositoryBlobs.repositoryId, repositories.id))
    .innerJoin(blobs, eq(blobs.digest, repositoryBlobs.digest))
    .where(and(eq(repositories.name, p('name')), eq(repositoryBlobs.digest, p('digest')))), ['name', 'digest'])
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
      return (await repositoryByName.get(name)) !== undefined
    },
    async manifest(name, reference) {
      // The driver's Buffer is a Uint8Array: no copy.
      return manifestOf(await (reference.kind === 'tag' ? manifestByTag.get(name, reference.tag) : manifestByDigest.get(name, reference.digest)) as ManifestRow | undefined)
    },
    async blob(name, digest) {
      const row = await linkedBlob.get(name, digest) as [digest: string, size: number] | undefined
      return row ? { digest: row[0], size: row[1] } : null
    },
    async placements(digest) {
      return (await presentAt.all({ digest })).map((r) => r.location)
    },
    async tags(name, page) {
      return (await tagPage.all({ name, last: page.last ?? '', n: page.n })).map((r) => r.name)
    },
    async catalog(page) {
      return (await catalogPage.all({ last: page.last ?? '', n: page.n })).map((r) => r.name)
    },
    async referrers(name, digest): Promise<ReferrerRecord[]> {
      return (await referrersOf.all({ name, digest })).map((r) => ({ ...r, annotations: r.annotations ? JSON.parse(r.annotations) as Record<string, string> : null }))
    },
    async position() {
      return (await lastChange.get())?.seq ?? 0
    },
  }
}
