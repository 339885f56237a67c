// The access guard: the one place a registry request is let through or refused (README "Access
// control"), the same at the origin and at every edge. Mount it on the /v2 prefix
// (`app.use('/v2/*', guard)` and `app.use('/v2', guard)`), never on mid-path wildcards (STYLE §6):
// it works out from the path itself what the request needs (requiredAccess).

import type { Context, MiddlewareHandler } from 'hono'
import { unauthorized } from './challenge.ts'
import { covers, requiredAccess } from './scope.ts'
import { TokenInvalid, type VerifyToken } from './verify.ts'
import type { Access, AuthSettings, Caller, IsPublic } from './types.ts'

/** What the guard logs through: storage/log.ts's Logger fits (oci/ may not import storage/). */
export interface GuardLog {
  debug(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
}

export interface AccessGuardOptions {
  settings: AuthSettings
  verify: VerifyToken
  /** Whether anyone may pull a repository without a token. */
  isPublic: IsPublic
  log?: GuardLog
}

const ANONYMOUS: Caller = { subject: '', access: [] }
// Refusals that happen to honest clients all the time (a token outliving its welcome, a clock a
// little off) are debug; the rest (bad signatures, unknown keys, wrong audience) are worth a warn.
const ROUTINE = new Set(['expired', 'not yet valid'])

export function createAccessGuard(options: AccessGuardOptions): MiddlewareHandler {
  const { settings, verify, isPublic, log } = options
  // Both mounts may match one request (`/v2` and `/v2/*`): judge it once.
  const judged = new WeakSet<Context>()

  /** True when every need is granted by the token, or is a pull of a public repository. */
  async function allowed(granted: Access[], needs: Access[]): Promise<boolean> {
    for (const need of needs) {
      if (covers(granted, need)) continue
      if (!isPublicPull(need) || !(await isPublic(need.name))) return false
    }
    return true
  }

  return async function accessGuard(c, next) {
    if (judged.has(c)) return next()
    judged.add(c)
    const requirement = requiredAccess(c.req.method, new URL(c.req.url))
    if (requirement.kind === 'none') return next()
    const scope = requirement.kind === 'access' ? requirement.needs : undefined

    const token = bearerToken(c.req.header('authorization'))
    if (token === null) {
      // No token (a Basic header included: registry endpoints take tokens only).
      if (requirement.kind === 'access' && await allowed([], requirement.needs)) {
        c.set('auth', ANONYMOUS)
        return next()
      }
      throw unauthorized(settings, { scope })
    }

    let caller: Caller
    try {
      const claims = await verify(token)
      caller = { subject: claims.sub, access: claims.access }
    } catch (err) {
      if (!(err instanceof TokenInvalid)) throw err
      const fields = { reason: err.reason, method: c.req.method, path: c.req.path }
      if (ROUTINE.has(err.reason)) log?.debug('token refused', fields)
      else log?.warn('token refused', fields)
      throw unauthorized(settings, { scope, error: 'invalid_token' })
    }
    if (requirement.kind === 'access' && !(await allowed(caller.access, requirement.needs))) {
      // 401, not 403: the client may ask the token endpoint for this scope and try again.
      throw unauthorized(settings, { scope, error: 'insufficient_scope' })
    }
    c.set('auth', caller)
    return next()
  }
}

/** The caller the guard let through, or null when no guard ran (auth off, or a path it ignores). */
export function callerOf(c: Context): Caller | null {
  return (c.get('auth') as Caller | undefined) ?? null
}

function isPublicPull(need: Access): boolean {
  return need.type === 'repository' && need.actions.length > 0 && need.actions.every((a) => a === 'pull')
}

/** The credentials of an `Authorization: Bearer …` header (scheme case-insensitive, RFC 9110
 * §11.1), or null for no header, another scheme or nothing after the scheme. Whatever follows
 * is the verifier's to judge: junk is an invalid token, not an absent one. */
function bearerToken(header: string | undefined): string | null {
  const match = header ? /^bearer(?:[ \t]+(.*))?$/is.exec(header.trim()) : null
  const token = match?.[1]?.trim()
  return token ? token : null
}
