import { eq, gt, asc } from 'drizzle-orm'
import type { Db } from '../client.ts'
import type { Tx } from './changes.ts'
import { repositories } from '../schema.ts'

export interface Repository { id: number; name: string }

export async function findRepository(db: Tx, name: string): Promise<Repository | null> {
  return (await db.select({ id: repositories.id, name: repositories.name }).from(repositories).where(eq(repositories.name, name)).get()) ?? null
}

/** Returns the repository, creating it on first push. */
export async function ensureRepository(tx: Tx, name: string, now = Date.now()): Promise<Repository> {
  // Nearly every push goes to a repository that exists: one read, not an insert and a read.
  const found = await findRepository(tx, name)
  if (found) return found
  await tx.insert(repositories).values({ name, createdAt: now }).onConflictDoNothing().run()
  return (await findRepository(tx, name))!
}

/** Names in lexical order after `last`, at most `n` (distribution-spec catalog pagination). */
export async function listRepositories(db: Db, options: { n: number; last?: string | null }): Promise<string[]> {
  const q = db.select({ name: repositories.name }).from(repositories)
  const rows = await (options.last
    ? q.where(gt(repositories.name, options.last)).orderBy(asc(repositories.name)).limit(options.n).all()
    : q.orderBy(asc(repositories.name)).limit(options.n).all())
  return rows.map((r) => r.name)
}
