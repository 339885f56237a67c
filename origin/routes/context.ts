// Small helpers every route file shares: the deps, validated path parameters, the repository.

import type { Context } from 'hono'
import { assertName } from '../../oci/names.ts'
import { parseDigest } from '../../oci/digest.ts'
import { ociError } from '../../oci/errors.ts'
import { findRepository, type Repository } from '../../db/queries/repositories.ts'
import type { OriginEnv, ResolvedDeps } from '../deps.ts'

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
export async function requireRepository(c: OriginContext, name: string): Promise<Repository> {
  const repo = await findRepository(depsOf(c).db, name)
  if (!repo) throw ociError('NAME_UNKNOWN', { detail: { name } })
  return repo
}

export function apiHeaders(c: OriginContext): void {
  c.header('Docker-Distribution-API-Version', 'registry/2.0')
}
