// Blobs as repositories see them: a blob is readable in a repository when it is linked there.

import { and, eq } from 'drizzle-orm'
import type { Db } from '../client.ts'
import type { Tx } from './changes.ts'
import { appendChange } from './changes.ts'
import { ensureRepository, type Repository } from './repositories.ts'
import { recordPlacement, scheduleReplication, type TargetsFor } from './placements.ts'
import { deleteUpload, UploadChanged } from './uploads.ts'
import { blobs, repositoryBlobs } from '../schema.ts'

export interface BlobInfo { digest: string; size: number }

export async function findBlob(tx: Tx, digest: string): Promise<BlobInfo | null> {
  return (await tx.select({ digest: blobs.digest, size: blobs.size }).from(blobs).where(eq(blobs.digest, digest)).get()) ?? null
}

/** The blob if it is linked into the repository, else null. */
export async function findRepositoryBlob(tx: Tx, repositoryId: number, digest: string): Promise<BlobInfo | null> {
  return (await tx.select({ digest: blobs.digest, size: blobs.size }).from(repositoryBlobs)
    .innerJoin(blobs, eq(blobs.digest, repositoryBlobs.digest))
    .where(and(eq(repositoryBlobs.repositoryId, repositoryId), eq(repositoryBlobs.digest, digest))).get()) ?? null
}

/** `size`: the blob's, when the caller knows it (else it is read). */
export async function linkBlob(tx: Tx, repository: Repository, digest: string, now = Date.now(), size?: number): Promise<void> {
  const r = await tx.insert(repositoryBlobs).values({ repositoryId: repository.id, digest, createdAt: now }).onConflictDoNothing().run()
  // The size travels with the change: an edge can serve HEAD from its index alone.
  if (r.changes > 0) await appendChange(tx, 'blob.linked', repository.name, { digest, size: size ?? (await findBlob(tx, digest))?.size ?? 0 }, now)
}

/** Removes the blob from the repository; the bytes stay until garbage collection. */
export async function unlinkBlob(tx: Tx, repository: Repository, digest: string, now = Date.now()): Promise<boolean> {
  const r = await tx.delete(repositoryBlobs).where(and(eq(repositoryBlobs.repositoryId, repository.id), eq(repositoryBlobs.digest, digest))).run()
  if (r.changes > 0) await appendChange(tx, 'blob.unlinked', repository.name, { digest }, now)
  return r.changes > 0
}

export interface CommitBlob {
  repository: string
  digest: string
  size: number
  /** Where the verified bytes now are. */
  location: string
  /** Replication targets for the namespaces holding the blob (policy). */
  targetsFor: TargetsFor
  /** The upload session this blob finishes; deleted in the same transaction. */
  uploadId?: string
  /**
   * Commit only if the session still holds this many parts (its bytes did not go through them):
   * else nothing is written and UploadChanged is thrown.
   */
  uploadParts?: number
  now?: number
}

/**
 * The one transaction that ends an upload (ARCHITECTURE §5 "Push"): blob, repository link,
 * placement 'present' and one replication job per target. Call only after the bytes are stored.
 */
export async function commitBlob(db: Db, c: CommitBlob): Promise<void> {
  const now = c.now ?? Date.now()
  await db.transaction(async (tx) => {
    if (c.uploadId && !await deleteUpload(tx, c.uploadId, c.uploadParts) && c.uploadParts !== undefined) throw new UploadChanged(c.uploadId)
    const repository = await ensureRepository(tx, c.repository, now)
    await recordPlacement(tx, { digest: c.digest, size: c.size, location: c.location, now })
    await linkBlob(tx, repository, c.digest, now, c.size)
    await scheduleReplication(tx, c.digest, c.targetsFor, now)
  })
}

/** Mount: link a blob the registry already holds into another repository. */
export async function mountBlob(db: Db, repositoryName: string, digest: string, targetsFor: TargetsFor, now = Date.now()): Promise<BlobInfo | null> {
  return db.transaction(async (tx) => {
    const blob = await findBlob(tx, digest)
    if (!blob) return null
    await linkBlob(tx, await ensureRepository(tx, repositoryName, now), digest, now, blob.size)
    // A new namespace holds the blob now: its policy joins the union.
    await scheduleReplication(tx, digest, targetsFor, now)
    return blob
  })
}
