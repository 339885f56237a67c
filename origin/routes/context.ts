// Small helpers every route file shares: the deps, validated path parameters, the repository.

import type { Context } from 'hono'
import { assertName } from '../../oci/names.ts'
import { parseDigest } from '../../oci/digest.ts'
import { ociError } from '../../oci/errors.ts'
import { findRepository, type Repository } from '../../db/queries/repositories.ts'
import type { OriginEnv, ResolvedDeps } from '../app.ts'

export type OriginContext = Context<OriginEnv>

export function depsOf(c: OriginContext): ResolvedDeps {
  return c.get('deps')
}

/** The validated repository name from the path (NAME_INVALID otherwise). */
export function nameOf(c: OriginContext): string {
  return assertName(c.req.param('name') ?? '')
}

/** The validated digest path parameter (DIGEST_INVALID otherwise). */
export function digestParam(c: OriginContext, param = 'digest'): string {
  const value = c.req.param(param) ?? ''
  parseDigest(value)
  return value
}

/** The repository, or NAME_UNKNOWN. */
export function requireRepository(c: OriginContext, name: string): Repository {
  const repo = findRepository(depsOf(c).db, name)
  if (!repo) throw ociError('NAME_UNKNOWN', { detail: { name } })
  return repo
}

/** distribution-spec pagination: `n` (count) and `last` (exclusive start). */
export function pageOf(c: OriginContext, max = 10_000): { n: number; last: string | null } {
  const raw = c.req.query('n')
  let n = max
  if (raw !== undefined) {
    if (!/^\d+$/.test(raw)) throw ociError('PAGINATION_NUMBER_INVALID', { detail: { n: raw } })
    n = Math.min(Number(raw), max)
  }
  return { n, last: c.req.query('last') ?? null }
}

/** The `Link` header for the next page (distribution-spec "Listing Tags"), or null. */
export function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`
}

export function apiHeaders(c: OriginContext): void {
  c.header('Docker-Distribution-API-Version', 'registry/2.0')
}
