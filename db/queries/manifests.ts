// Manifests, tags and referrers. A manifest's bytes are also stored as a blob in storage (so
// replication carries them); the payload is kept here so reads need no storage round trip.

import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm'
import type { Db } from '../client.ts'
import type { Tx } from './changes.ts'
import { appendChange } from './changes.ts'
import { ensureRepository, type Repository } from './repositories.ts'
import { recordPlacement, scheduleReplication, type TargetsFor } from './placements.ts'
import { linkBlob, unlinkBlob } from './blobs.ts'
import { manifestReferences, manifests, repositoryBlobs, tags } from '../schema.ts'

export interface StoredManifest {
  digest: string
  mediaType: string
  size: number
  payload: Uint8Array
  subjectDigest: string | null
  artifactType: string | null
  annotations: Record<string, string> | null
}

export async function findManifest(tx: Tx, repositoryId: number, digest: string): Promise<StoredManifest | null> {
  const row = await tx.select().from(manifests).where(and(eq(manifests.repositoryId, repositoryId), eq(manifests.digest, digest))).get()
  if (!row) return null
  return {
    digest: row.digest, mediaType: row.mediaType, size: row.size, payload: new Uint8Array(row.payload),
    subjectDigest: row.subjectDigest, artifactType: row.artifactType,
    annotations: row.annotations ? JSON.parse(row.annotations) : null,
  }
}

export async function resolveTag(tx: Tx, repositoryId: number, tag: string): Promise<string | null> {
  return (await tx.select({ digest: tags.digest }).from(tags).where(and(eq(tags.repositoryId, repositoryId), eq(tags.name, tag))).get())?.digest ?? null
}

/** Of `digests`, those that are not blobs linked into the repository. */
export async function missingBlobs(tx: Tx, repositoryId: number, digests: string[]): Promise<string[]> {
  if (digests.length === 0) return []
  const found = new Set((await tx.select({ d: repositoryBlobs.digest }).from(repositoryBlobs)
    .where(and(eq(repositoryBlobs.repositoryId, repositoryId), inArray(repositoryBlobs.digest, digests))).all()).map((r) => r.d))
  return digests.filter((d) => !found.has(d))
}

/** Of `digests`, those that are not manifests of the repository. */
export async function missingManifests(tx: Tx, repositoryId: number, digests: string[]): Promise<string[]> {
  if (digests.length === 0) return []
  const found = new Set((await tx.select({ d: manifests.digest }).from(manifests)
    .where(and(eq(manifests.repositoryId, repositoryId), inArray(manifests.digest, digests))).all()).map((r) => r.d))
  return digests.filter((d) => !found.has(d))
}

/** What a manifest references and the repository holds, by kind: its manifest_references rows. */
export interface ManifestRefs {
  blobs: string[]
  manifests: string[]
}

export interface PutManifest {
  repository: string
  digest: string
  mediaType: string
  payload: Uint8Array
  subjectDigest: string | null
  artifactType: string | null
  annotations: Record<string, string> | null
  /** Tags pointed at the manifest in the same transaction (distribution-spec `?tag=`); may be empty. */
  tags: string[]
  /** Where the manifest bytes were stored, and where they must be replicated. */
  location: string
  targetsFor: TargetsFor
  now?: number
}

/**
 * Records a manifest whose bytes are already stored: blob + placement + replication jobs, the
 * manifest row, its references, the tags. `references` runs in the same transaction, so nothing
 * can be deleted between its check and the write: it throws when the repository lacks what the
 * manifest needs, else answers the references to record (the ones the repository holds).
 */
export async function putManifest(db: Db, m: PutManifest, references: (tx: Tx, repository: Repository) => Promise<ManifestRefs>): Promise<void> {
  const now = m.now ?? Date.now()
  await db.transaction(async (tx) => {
    const repository = await ensureRepository(tx, m.repository, now)
    const refs = await references(tx, repository)
    await recordPlacement(tx, { digest: m.digest, size: m.payload.byteLength, location: m.location, now })
    // The manifest's bytes are a blob of the repository too (replicated, backfilled, GET-able).
    await linkBlob(tx, repository, m.digest, now)
    await scheduleReplication(tx, m.digest, m.targetsFor, now)
    const inserted = await tx.insert(manifests).values({
      repositoryId: repository.id, digest: m.digest, mediaType: m.mediaType, size: m.payload.byteLength,
      payload: Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength),
      subjectDigest: m.subjectDigest, artifactType: m.artifactType,
      annotations: m.annotations ? JSON.stringify(m.annotations) : null, createdAt: now,
    }).onConflictDoNothing().run()
    if (inserted.changes > 0) {
      const rows = [
        ...refs.blobs.map((d) => ({ targetDigest: d, kind: 'blob' as const })),
        ...refs.manifests.map((d) => ({ targetDigest: d, kind: 'manifest' as const })),
      ]
      for (const r of rows) {
        await tx.insert(manifestReferences).values({ repositoryId: repository.id, manifestDigest: m.digest, ...r }).onConflictDoNothing().run()
      }
      await appendChange(tx, 'manifest.put', repository.name, { digest: m.digest, mediaType: m.mediaType, size: m.payload.byteLength, subject: m.subjectDigest, artifactType: m.artifactType, annotations: m.annotations }, now)
    }
    for (const tag of new Set(m.tags)) await setTag(tx, repository, tag, m.digest, now)
  })
}

export async function setTag(tx: Tx, repository: Repository, tag: string, digest: string, now = Date.now()): Promise<void> {
  const r = await tx.insert(tags).values({ repositoryId: repository.id, name: tag, digest, updatedAt: now })
    .onConflictDoUpdate({ target: [tags.repositoryId, tags.name], set: { digest, updatedAt: now }, setWhere: sql`${tags.digest} <> ${digest}` }).run()
  // Only a tag that moved (or is new) is news for the edges; docker re-PUTs tags on every push.
  if (r.changes > 0) await appendChange(tx, 'tag.set', repository.name, { tag, digest }, now)
}

/** Removes a tag; the manifest stays. Returns false when there was no such tag. */
export async function deleteTag(db: Db, repository: Repository, tag: string, now = Date.now()): Promise<boolean> {
  return db.transaction(async (tx) => {
    const r = await tx.delete(tags).where(and(eq(tags.repositoryId, repository.id), eq(tags.name, tag))).run()
    if (r.changes > 0) await appendChange(tx, 'tag.deleted', repository.name, { tag }, now)
    return r.changes > 0
  })
}

/** Deletes a manifest and every tag pointing at it (distribution-spec: tags go with it). */
export async function deleteManifest(db: Db, repository: Repository, digest: string, now = Date.now()): Promise<boolean> {
  return db.transaction(async (tx) => {
    const r = await tx.delete(manifests).where(and(eq(manifests.repositoryId, repository.id), eq(manifests.digest, digest))).run()
    if (r.changes === 0) return false
    await tx.delete(manifestReferences).where(and(eq(manifestReferences.repositoryId, repository.id), eq(manifestReferences.manifestDigest, digest))).run()
    // The manifest's bytes were linked as a blob of the repository (putManifest): unlink them too.
    await unlinkBlob(tx, repository, digest, now)
    const gone = await tx.delete(tags).where(and(eq(tags.repositoryId, repository.id), eq(tags.digest, digest))).returning({ name: tags.name }).all()
    for (const t of gone) await appendChange(tx, 'tag.deleted', repository.name, { tag: t.name }, now)
    await appendChange(tx, 'manifest.deleted', repository.name, { digest }, now)
    return true
  })
}

/** Tags in lexical order after `last`, at most `n`. */
export async function listTags(tx: Tx, repositoryId: number, options: { n: number; last?: string | null }): Promise<string[]> {
  const where = options.last ? and(eq(tags.repositoryId, repositoryId), gt(tags.name, options.last)) : eq(tags.repositoryId, repositoryId)
  return (await tx.select({ name: tags.name }).from(tags).where(where).orderBy(asc(tags.name)).limit(options.n).all()).map((r) => r.name)
}

/** Manifests whose subject is `digest`, for the referrers API. */
export async function listReferrers(tx: Tx, repositoryId: number, digest: string) {
  return (await tx.select({ digest: manifests.digest, mediaType: manifests.mediaType, size: manifests.size, artifactType: manifests.artifactType, annotations: manifests.annotations })
    .from(manifests).where(and(eq(manifests.repositoryId, repositoryId), eq(manifests.subjectDigest, digest)))
    .orderBy(asc(manifests.digest)).all())
    .map((r) => ({ ...r, annotations: r.annotations ? JSON.parse(r.annotations) as Record<string, string> : undefined }))
}
