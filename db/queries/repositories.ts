import { eq, gt, asc } from 'drizzle-orm'
import type { Db } from '../client.ts'
import type { Tx } from './changes.ts'
import { repositories } from '../schema.ts'

export interface Repository { id: number; name: string }

export function findRepository(db: Tx, name: string): Repository | null {
  return db.select({ id: repositories.id, name: repositories.name }).from(repositories).where(eq(repositories.name, name)).get() ?? null
}

/** Returns the repository, creating it on first push. */
export function ensureRepository(tx: Tx, name: string, now = Date.now()): Repository {
  tx.insert(repositories).values({ name, createdAt: now }).onConflictDoNothing().run()
  return findRepository(tx, name)!
}

/** Names in lexical order after `last`, at most `n` (distribution-spec catalog pagination). */
export function listRepositories(db: Db, options: { n: number; last?: string | null }): string[] {
  const q = db.select({ name: repositories.name }).from(repositories)
  const rows = options.last
    ? q.where(gt(repositories.name, options.last)).orderBy(asc(repositories.name)).limit(options.n).all()
    : q.orderBy(asc(repositories.name)).limit(options.n).all()
  return rows.map((r) => r.name)
}
