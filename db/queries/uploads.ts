// Upload sessions are durable rows (§4.3): a client may continue a chunked upload after a restart.

import { and, eq, getTableColumns, lt, sql } from 'drizzle-orm'
import type { Tx } from './changes.ts'
import { jsonTextAppend } from '../dialect-sql.ts'
import { repositories, uploads } from '../schema.ts'

export interface Upload {
  id: string
  repositoryId: number
  location: string
  offset: number
  parts: number
  /** JSON array of part nonces (storage/keys.ts uploadPartKey); see partNoncesOf. */
  partNonces: string
  createdAt: number
  updatedAt: number
}

/** The nonce of every stored part, in order. */
export function partNoncesOf(upload: Upload): string[] {
  const nonces = JSON.parse(upload.partNonces) as string[]
  // Rows from before nonces: every part is un-suffixed.
  return nonces.length === upload.parts ? nonces : Array.from({ length: upload.parts }, () => '')
}

export async function createUpload(tx: Tx, u: { id: string; repositoryId: number; location: string; now?: number }): Promise<Upload> {
  const now = u.now ?? Date.now()
  const row = { id: u.id, repositoryId: u.repositoryId, location: u.location, offset: 0, parts: 0, partNonces: '[]', createdAt: now, updatedAt: now }
  await tx.insert(uploads).values(row).run()
  return row
}

/**
 * Opens a session in the existing repository named `repository`, in one statement (no
 * transaction); null when there is no such repository (the caller creates it, then createUpload).
 */
export async function createUploadIn(tx: Tx, u: { id: string; repository: string; location: string; now?: number }): Promise<Upload | null> {
  const now = u.now ?? Date.now()
  // The casts type the bound values where PostgreSQL cannot infer them from a select list.
  const r = await tx.insert(uploads).select(tx.select({
    id: sql<string>`cast(${u.id} as text)`.as('id'), repositoryId: repositories.id, location: sql<string>`cast(${u.location} as text)`.as('location'),
    offset: sql<number>`0`.as('offset'), parts: sql<number>`0`.as('parts'), partNonces: sql<string>`'[]'`.as('part_nonces'),
    createdAt: sql<number>`cast(${now} as bigint)`.as('created_at'), updatedAt: sql<number>`cast(${now} as bigint)`.as('updated_at'),
  }).from(repositories).where(eq(repositories.name, u.repository))).returning({ repositoryId: uploads.repositoryId }).all()
  if (r.length === 0) return null
  return { id: u.id, repositoryId: r[0].repositoryId, location: u.location, offset: 0, parts: 0, partNonces: '[]', createdAt: now, updatedAt: now }
}

/** The session `id` if it belongs to the repository named `repository` (one statement). */
export async function findSession(tx: Tx, repository: string, id: string): Promise<Upload | null> {
  return (await tx.select(getTableColumns(uploads)).from(uploads)
    .innerJoin(repositories, eq(repositories.id, uploads.repositoryId))
    .where(and(eq(uploads.id, id), eq(repositories.name, repository))).get()) ?? null
}

export async function findUpload(tx: Tx, id: string): Promise<Upload | null> {
  return (await tx.select().from(uploads).where(eq(uploads.id, id)).get()) ?? null
}

/**
 * Records one more stored part and its nonce, only if the session is still at `fromOffset` (two
 * PATCHes racing on one session, on one origin or two: the loser gets false and deletes its own
 * part; the winner's is never touched).
 */
export async function advanceUpload(tx: Tx, id: string, fromOffset: number, fromParts: number, added: number, nonce: string, now = Date.now()): Promise<boolean> {
  const r = await tx.update(uploads).set({ offset: fromOffset + added, parts: fromParts + 1, partNonces: jsonTextAppend(tx, uploads.partNonces.getSQL(), nonce), updatedAt: now })
    .where(and(eq(uploads.id, id), eq(uploads.offset, fromOffset), eq(uploads.parts, fromParts))).run()
  return r.changes > 0
}

/** `parts`: only while the session still holds that many parts (no chunk reached it meanwhile). */
export async function deleteUpload(tx: Tx, id: string, parts?: number): Promise<boolean> {
  const which = parts === undefined ? eq(uploads.id, id) : and(eq(uploads.id, id), eq(uploads.parts, parts))
  return (await tx.delete(uploads).where(which).run()).changes > 0
}

/** The upload session a commit was to close is gone or took another chunk: nothing was committed. */
export class UploadChanged extends Error {
  readonly uploadId: string
  constructor(uploadId: string) {
    super(`upload session ${uploadId} changed before its blob was committed`)
    this.name = 'UploadChanged'
    this.uploadId = uploadId
  }
}

/** Sessions untouched since `before` (abandoned uploads to clean up). */
export async function staleUploads(tx: Tx, before: number): Promise<Upload[]> {
  return tx.select().from(uploads).where(lt(uploads.updatedAt, before)).all()
}

/**
 * Moves a session that holds no part yet to another location (its own stopped taking writes);
 * only if it still has no part and is still where the caller saw it.
 */
export async function relocateUpload(tx: Tx, id: string, from: string, to: string, now = Date.now()): Promise<boolean> {
  return (await tx.update(uploads).set({ location: to, updatedAt: now })
    .where(and(eq(uploads.id, id), eq(uploads.location, from), eq(uploads.parts, 0))).run()).changes > 0
}
