// The 401 a client without (enough of) a token gets: the spec's UNAUTHORIZED body and a Bearer
// challenge telling it where to get a token and for what (distribution docs/spec/auth/token.md
// "How to authenticate"; RFC 6750 §3 for `error`).

import { ociError, type OciError } from '../errors.ts'
import { formatScope, mergeAccess } from './scope.ts'
import type { Access, AuthSettings } from './types.ts'

export type ChallengeError = 'invalid_token' | 'insufficient_scope'

const MESSAGES: Record<ChallengeError | 'none', string> = {
  none: 'authentication required',
  invalid_token: 'authentication required: the token is invalid or expired',
  insufficient_scope: 'authentication required: the token does not grant this access',
}

/**
 * `Bearer realm="…",service="…"[,scope="…"][,error="…"]`. Several scopes go space-separated in
 * one `scope` parameter, as distribution writes them and docker reads them.
 */
export function challengeHeader(settings: AuthSettings, options: { scope?: Access[]; error?: ChallengeError } = {}): string {
  const params = [`realm=${quote(settings.realm)}`, `service=${quote(settings.service)}`]
  const scopes = mergeAccess(options.scope ?? []).filter((a) => a.actions.length > 0)
  if (scopes.length > 0) params.push(`scope=${quote(scopes.map(formatScope).join(' '))}`)
  if (options.error) params.push(`error=${quote(options.error)}`)
  return `Bearer ${params.join(',')}`
}

/** UNAUTHORIZED (401) carrying the challenge. The detail lists the access wanted, one entry per
 * action, in distribution's shape; it never holds anything about the presented token. */
export function unauthorized(settings: AuthSettings, options: { scope?: Access[]; error?: ChallengeError; message?: string } = {}): OciError {
  const scope = mergeAccess(options.scope ?? [])
  const detail = scope.length === 0
    ? null
    : scope.flatMap((a) => a.actions.map((action) => ({ Type: a.type, Name: a.name, Action: action })))
  return ociError('UNAUTHORIZED', {
    message: options.message ?? MESSAGES[options.error ?? 'none'],
    detail,
    headers: { 'WWW-Authenticate': challengeHeader(settings, options) },
  })
}

/** An RFC 9110 quoted-string: backslash and double quote escaped. */
function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}
