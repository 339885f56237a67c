// Public repositories (db/schema.ts `public_repositories`): readable anonymously. Every flip is
// appended to the change log in the same transaction, so region indexes (and the edges' anonymous
// pulls) follow it like any other change.

import { asc, eq } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { publicRepositories } from '../schema.ts'
import { appendChange } from './changes.ts'

export async function isRepositoryPublic(db: Db, repository: string): Promise<boolean> {
  return (await db.select({ r: publicRepositories.repository }).from(publicRepositories)
    .where(eq(publicRepositories.repository, repository)).get()) !== undefined
}

/** False when the repository already was as asked (nothing appended then). */
export async function setRepositoryPublic(db: Db, repository: string, isPublic: boolean, now = Date.now()): Promise<boolean> {
  return db.transaction(async (tx) => {
    const changed = isPublic
      ? (await tx.insert(publicRepositories).values({ repository, createdAt: now }).onConflictDoNothing().run()).changes > 0
      : (await tx.delete(publicRepositories).where(eq(publicRepositories.repository, repository)).run()).changes > 0
    // Shape as oci/pull/feed.ts: the repository in its column, `{ public }` in the payload.
    if (changed) await appendChange(tx, 'repository.visibility', repository, { public: isPublic }, now)
    return changed
  })
}

export async function publicRepositoryNames(db: Db): Promise<string[]> {
  return (await db.select({ r: publicRepositories.repository }).from(publicRepositories)
    .orderBy(asc(publicRepositories.repository)).all()).map((r) => r.r)
}
