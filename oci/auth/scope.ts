// Scopes (distribution docs/spec/auth/scope.md, token.md) and what each registry request needs.
// The guard at the origin and at every edge asks requiredAccess, then covers(token.access, need);
// the token endpoint reads the client's scopes with parseScopes.

import { getPath, tryDecodeURIComponent } from 'hono/utils/url'
import { isValidName } from '../names.ts'
import { JWKS_PATH, REPOSITORY_ACTIONS, TOKEN_PATH, type Access } from './types.ts'

// resourcetype [ "(" class ")" ]: the class (`repository(plugin)`) is accepted and dropped.
const RESOURCE_TYPE = /^([a-z0-9]+)(?:\([a-z0-9]+\))?$/
// token.md: action := /[a-z]*/; `*` is the catalog's action.
const ACTION = /^(?:[a-z]+|\*)$/
const REGISTRY_NAME = /^[a-z0-9]+$/

/**
 * One `type:name:actions` scope, or null when malformed. The type ends at the first colon and the
 * actions start after the last one, so a stray colon in the name (a hostname with a port, which
 * clients should not send) yields an invalid name instead of a misread type or action.
 */
export function parseScope(scope: string): Access | null {
  const first = scope.indexOf(':')
  const last = scope.lastIndexOf(':')
  if (first < 0 || last === first) return null
  const typeMatch = RESOURCE_TYPE.exec(scope.slice(0, first))
  const type = typeMatch?.[1]
  const name = scope.slice(first + 1, last)
  if (type === 'repository') {
    if (!isValidName(name)) return null
  } else if (type === 'registry') {
    if (!REGISTRY_NAME.test(name)) return null
  } else {
    return null
  }
  const actions = scope.slice(last + 1).split(',').filter((a) => a !== '')
  if (actions.length === 0 || !actions.every((a) => ACTION.test(a))) return null
  return { type, name, actions: orderActions(actions) }
}

/** Every scope in `values` (each may hold several, space-separated); malformed ones are dropped,
 * and scopes on the same resource are merged into one entry. */
export function parseScopes(values: string[]): Access[] {
  const parsed: Access[] = []
  for (const value of values) {
    for (const part of value.split(' ')) {
      const access = part === '' ? null : parseScope(part)
      if (access) parsed.push(access)
    }
  }
  return mergeAccess(parsed)
}

/** `type:name:actions`, actions in REPOSITORY_ACTIONS order (others after, as given). */
export function formatScope(access: Access): string {
  return `${access.type}:${access.name}:${orderActions(access.actions).join(',')}`
}

/** Entries on the same type and name merged into one, in first-seen order. */
export function mergeAccess(entries: Access[]): Access[] {
  const merged = new Map<string, Access>()
  for (const entry of entries) {
    const key = `${entry.type}:${entry.name}`
    const seen = merged.get(key)
    if (seen) seen.actions = orderActions([...seen.actions, ...entry.actions])
    else merged.set(key, { type: entry.type, name: entry.name, actions: orderActions(entry.actions) })
  }
  return [...merged.values()]
}

function orderActions(actions: string[]): string[] {
  const unique = [...new Set(actions)]
  const rank = (a: string) => {
    const i = (REPOSITORY_ACTIONS as readonly string[]).indexOf(a)
    return i < 0 ? REPOSITORY_ACTIONS.length : i
  }
  // Array#sort is stable: unknown actions keep their given order after the known ones.
  return unique.sort((a, b) => rank(a) - rank(b))
}

/**
 * True when `granted` (a token's access claim) allows every action of `needed`. Actions are
 * matched literally, across entries on the same resource: implications (push ⇒ pull, admin ⇒ all)
 * are the token endpoint's business, not the verifier's. A need without actions is not covered.
 */
export function covers(granted: Access[], needed: Access): boolean {
  if (needed.actions.length === 0) return false
  return needed.actions.every((action) =>
    granted.some((g) => g.type === needed.type && g.name === needed.name && Array.isArray(g.actions) && g.actions.includes(action)))
}

export type Requirement =
  | { kind: 'none' }
  | { kind: 'authenticated' }
  | { kind: 'access'; needs: Access[] }

const NONE: Requirement = { kind: 'none' }
const AUTHENTICATED: Requirement = { kind: 'authenticated' }
const CATALOG: Access = { type: 'registry', name: 'catalog', actions: ['*'] }

/**
 * What a request needs (README "Access control"). The path is read exactly as the router reads it
 * (Hono's own getPath, so `/%76%32/…` is `/v2/…` here as it is there), routes are recognised the
 * way the registry's patterns match (`/v2/:name{.+}/manifests/:reference` and friends: the name is
 * everything before the last such suffix, so `a/blobs/b` is a name), and the name is decoded as a
 * route parameter is (`a%2Fb` is `a/b`). Anything under /v2 that is no route, or names a malformed
 * repository, needs only a valid token: the route then answers 404 or NAME_INVALID.
 */
export function requiredAccess(method: string, url: URL): Requirement {
  // getPath reads only `url` from its request: no Request needs building per call.
  const path = getPath({ url: url.href } as Request)
  if (path === TOKEN_PATH || path === JWKS_PATH) return NONE
  if (path !== '/v2' && !path.startsWith('/v2/')) return NONE
  if (path === '/v2' || path === '/v2/') return AUTHENTICATED
  const verb = method.toUpperCase()
  const read = verb === 'GET' || verb === 'HEAD'
  if (path === '/v2/_catalog') return read ? { kind: 'access', needs: [CATALOG] } : AUTHENTICATED

  const route = matchRoute(path.slice('/v2/'.length).split('/'))
  if (!route) return AUTHENTICATED
  // The route's parameter, decoded as Hono decodes it (c.req.param).
  const name = tryDecodeURIComponent(route.name)
  if (!isValidName(name)) return AUTHENTICATED
  const on = (...actions: string[]): Requirement => ({ kind: 'access', needs: [{ type: 'repository', name, actions }] })
  switch (route.kind) {
    case 'tags':
    case 'referrers':
      return read ? on('pull') : AUTHENTICATED
    case 'manifest':
      if (read) return on('pull')
      if (verb === 'PUT') return on('pull', 'push')
      return verb === 'DELETE' ? on('delete') : AUTHENTICATED
    case 'blob':
      if (read) return on('pull')
      if (verb === 'DELETE') return on('delete')
      // POST /v2/<name>/blobs/uploads (no slash) opens an upload; no other verb reaches a blob.
      return verb === 'POST' && route.last === 'uploads' ? startUpload(name, url) : AUTHENTICATED
    case 'upload-start':
      return verb === 'POST' ? startUpload(name, url) : AUTHENTICATED
    case 'upload':
      if (verb === 'PATCH' || verb === 'PUT') return on('pull', 'push')
      // A session's status and its cancellation belong to whoever may push (common.md: DELETE
      // of an upload needs push, not delete); a pull-only caller has no business with sessions.
      return read || verb === 'DELETE' ? on('push') : AUTHENTICATED
  }
}

/** distribution asks push and pull to open an upload, and pull on a mount's `from` repository
 * (registry/handlers/app.go), so a mount cannot copy a blob out of a repository one may not read. */
function startUpload(name: string, url: URL): Requirement {
  const needs: Access[] = [{ type: 'repository', name, actions: ['pull', 'push'] }]
  for (const from of url.searchParams.getAll('from')) {
    if (isValidName(from)) needs.push({ type: 'repository', name: from, actions: ['pull'] })
  }
  return { kind: 'access', needs: mergeAccess(needs) }
}

type RouteKind = 'tags' | 'referrers' | 'manifest' | 'blob' | 'upload-start' | 'upload'
interface Route { kind: RouteKind; name: string; last: string }

/** The route a /v2 path (its segments after `/v2/`, as the router sees them) reaches, judged
 * from its last segments; `name` is still encoded as in the path. */
function matchRoute(segments: string[]): Route | null {
  const n = segments.length
  const last = segments[n - 1]!
  const at = (i: number) => segments[n - i]
  const named = (kind: RouteKind, suffix: number): Route | null => {
    const name = segments.slice(0, n - suffix)
    return name.length === 0 ? null : { kind, name: name.join('/'), last }
  }
  if (at(2) === 'tags' && last === 'list') return named('tags', 2)
  if (at(3) === 'blobs' && at(2) === 'uploads') return last === '' ? named('upload-start', 3) : named('upload', 3)
  if (last === '') return null
  if (at(2) === 'manifests') return named('manifest', 2)
  if (at(2) === 'blobs') return named('blob', 2)
  if (at(2) === 'referrers') return named('referrers', 2)
  return null
}
