// What the origin-* access-control tests share: an origin with access control on, tokens from its
// token endpoint, requests with a token, a fingerprint of everything a refused write must not change.

import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import type { Db } from '../../db/client.ts'
import * as schema from '../../db/schema.ts'
import { startTestOrigin, type TestOrigin, type TestOriginOptions } from '../helpers/origin.ts'

export const ADMIN_TOKEN = 'admin-token-for-the-origin-auth-tests-0123456789'

/** An origin with MERIDIAN_AUTH=on; its admin API wants ADMIN_TOKEN (not open on loopback). */
export function startAuthOrigin(options: TestOriginOptions = {}): Promise<TestOrigin> {
  return startTestOrigin({ adminToken: ADMIN_TOKEN, ...options, env: { MERIDIAN_AUTH: 'on', ...options.env } })
}

export function serviceOf(origin: TestOrigin): string {
  return new URL(origin.url).host
}

/** A token from GET /v2/token (token.md); anonymous without credentials. */
export async function tokenFor(origin: TestOrigin, scopes: string[], credentials?: { user: string; secret: string }): Promise<string> {
  const query = new URLSearchParams({ service: serviceOf(origin) })
  for (const s of scopes) query.append('scope', s)
  const headers: Record<string, string> = credentials ? { authorization: `Basic ${btoa(`${credentials.user}:${credentials.secret}`)}` } : {}
  const res = await fetch(`${origin.url}/v2/token?${query}`, { headers })
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`)
  return ((await res.json()) as { token: string }).token
}

/** The scope a registry token needs to open the admin API (granted to admin accounts only). */
export const ADMIN_SCOPE = 'registry:admin:*'

/** A token for the admin API: an admin account's, asking for ADMIN_SCOPE (and any other scopes). */
export function adminTokenFor(origin: TestOrigin, credentials: { user: string; secret: string }, scopes: string[] = []): Promise<string> {
  return tokenFor(origin, [...scopes, ADMIN_SCOPE], credentials)
}

/** The `access` claim of a token (no verification: the tests read what the endpoint granted). */
export function accessOf(token: string): Array<{ type: string; name: string; actions: string[] }> {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { access: Array<{ type: string; name: string; actions: string[] }> }).access
}

/** fetch with `Authorization: Bearer <token>` (none when token is null). */
export function withToken(token: string | null) {
  return (url: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers)
    if (token !== null) headers.set('authorization', `Bearer ${token}`)
    return fetch(url, { ...init, headers })
  }
}

/** The admin API with the admin token (or another Authorization value). */
export async function adminCall(origin: TestOrigin, method: string, path: string, body?: unknown, authorization = `Bearer ${ADMIN_TOKEN}`): Promise<Response> {
  return fetch(`${origin.url}/admin${path}`, {
    method, headers: { authorization, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  })
}

const TABLES = {
  blobs: schema.blobs, repositories: schema.repositories, repository_blobs: schema.repositoryBlobs, manifests: schema.manifests,
  manifest_references: schema.manifestReferences, tags: schema.tags, uploads: schema.uploads, placements: schema.placements,
  changes: schema.changes, replication_jobs: schema.replicationJobs,
}

/** Row counts of the tables a push writes: equal before and after a refused write. */
export async function writeFingerprint(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const [name, table] of Object.entries(TABLES)) {
    out[name] = (await db.select({ n: sql<number>`count(*)` }).from(table).get())!.n
  }
  return out
}

/** Every file under the origin's locations (uploads and blobs), for "nothing changed in storage". */
export function storageFingerprint(dataDir: string): string[] {
  return (readdirSync(join(dataDir, 'locations'), { recursive: true, withFileTypes: true }) as Array<{ name: string; parentPath: string; isFile(): boolean }>)
    .filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort()
}
