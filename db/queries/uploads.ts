// Upload sessions are durable rows (§4.3): a client may continue a chunked upload after a restart.

import { and, eq, lt } from 'drizzle-orm'
import type { Tx } from './changes.ts'
import { uploads } from '../schema.ts'

export interface Upload {
  id: string
  repositoryId: number
  location: string
  offset: number
  parts: number
  createdAt: number
  updatedAt: number
}

export function createUpload(tx: Tx, u: { id: string; repositoryId: number; location: string; now?: number }): Upload {
  const now = u.now ?? Date.now()
  const row = { id: u.id, repositoryId: u.repositoryId, location: u.location, offset: 0, parts: 0, createdAt: now, updatedAt: now }
  tx.insert(uploads).values(row).run()
  return row
}

export function findUpload(tx: Tx, id: string): Upload | null {
  return tx.select().from(uploads).where(eq(uploads.id, id)).get() ?? null
}

/**
 * Records one more stored part, only if the session is still at `fromOffset` (two PATCHes racing
 * on one session: the loser gets false and its part is discarded).
 */
export function advanceUpload(tx: Tx, id: string, fromOffset: number, fromParts: number, added: number, now = Date.now()): boolean {
  const r = tx.update(uploads).set({ offset: fromOffset + added, parts: fromParts + 1, updatedAt: now })
    .where(and(eq(uploads.id, id), eq(uploads.offset, fromOffset), eq(uploads.parts, fromParts))).run()
  return r.changes > 0
}

export function deleteUpload(tx: Tx, id: string): boolean {
  return tx.delete(uploads).where(eq(uploads.id, id)).run().changes > 0
}

/** Sessions untouched since `before` (abandoned uploads to clean up). */
export function staleUploads(tx: Tx, before: number): Upload[] {
  return tx.select().from(uploads).where(lt(uploads.updatedAt, before)).all()
}
