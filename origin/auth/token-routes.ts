// The token endpoint (distribution docs/spec/auth/token.md, oauth.md) and the JWKS. GET: Basic
// credentials or none (anonymous: public pulls and the catalog only); POST: the OAuth2 form with
// grant_type=password or refresh_token. The token grants the intersection of what was asked and
// what the account may do (origin/auth/grants.ts); a partial grant is not an error.
//
// Never logged: passwords, tokens, refresh tokens, hashes, the Authorization header.

import { createHash, randomBytes } from 'node:crypto'
import { Hono, type Context } from 'hono'
import { getConnInfo } from '@hono/node-server/conninfo'
import { SignJWT } from 'jose'
import type { Db } from '../../db/client.ts'
import { accountById, accountByName, type AccountRow } from '../../db/queries/accounts.ts'
import { insertRefreshToken, refreshTokenByHash } from '../../db/queries/refresh-tokens.ts'
import { ociError, isOciError, renderError } from '../../oci/errors.ts'
import { formatScope, parseScopes } from '../../oci/auth/scope.ts'
import { JWKS_PATH, TOKEN_PATH, type Access, type AuthSettings } from '../../oci/auth/types.ts'
import { describeError, silentLogger, type Logger } from '../../storage/log.ts'
import { createSecretVerifier, type SecretVerifier } from './verified-secrets.ts'
import { grantedAccess } from './grants.ts'
import { createLoginLimiter, type LoginLimiter } from './login-limit.ts'
import type { KeyStore } from './signing-keys.ts'

export interface TokenRouteDeps {
  db: Db
  keys: KeyStore
  settings: AuthSettings
  /** Access token lifetime; at least 60 (token.md: "never … less than 60 seconds to live"). */
  tokenSeconds?: number
  log?: Logger
  limiter?: LoginLimiter
  /** Checks secrets against stored hashes, remembering recent successes (verified-secrets.ts). */
  verifier?: SecretVerifier
  /** ms */
  now?: () => number
  /** The client's address for the failed-login limit; default the socket's peer (Node). Behind a proxy, pass the trusted one. */
  address?: (c: Context) => string
}

const REFRESH_TOKEN_MS = 30 * 24 * 3600_000
const MAX_FORM_BYTES = 64 * 1024
const MAX_NAME = 256
const MAX_SECRET = 1024

function socketAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown'
  } catch {
    return 'unknown' // app.request() in tests: no socket
  }
}

/** An OAuth2 error (RFC 6749 §5.2): wrong service, missing or unsupported parameters. */
function oauthError(c: Context, error: string, description: string): Response {
  return c.json({ error, error_description: description }, 400, { 'Cache-Control': 'no-store' })
}

/** `Basic base64(user:password)` → the pair; null without a header; 'malformed' for anything else. */
function basicCredentials(header: string | undefined): { username: string; password: string } | 'malformed' | null {
  if (header === undefined) return null
  const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header)
  if (!m) return 'malformed'
  let decoded: string
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(atob(m[1]!), (ch) => ch.charCodeAt(0)))
  } catch {
    return 'malformed'
  }
  const colon = decoded.indexOf(':')
  return colon < 0 ? 'malformed' : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** The request body as text, or null past `max` bytes (read no further: a chunked flood stops there). */
async function textUpTo(body: ReadableStream<Uint8Array> | null, max: number): Promise<string | null> {
  if (!body) return ''
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel()
      return null
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

export function createTokenRoutes(deps: TokenRouteDeps): Hono {
  const { db, keys, settings, log = silentLogger, now = Date.now, address = socketAddress } = deps
  const limiter = deps.limiter ?? createLoginLimiter({ now })
  const verifier = deps.verifier ?? createSecretVerifier()
  const tokenSeconds = Math.max(60, Math.floor(deps.tokenSeconds ?? 300))
  const app = new Hono()

  const badCredentials = (challenge: boolean) => ociError('UNAUTHORIZED', {
    message: 'invalid credentials',
    headers: challenge ? { 'WWW-Authenticate': `Basic realm="${settings.realm.replace(/["\\]/g, '')}"` } : {},
  })
  const tooMany = (seconds: number) => ociError('TOOMANYREQUESTS', {
    message: 'too many failed logins; try again later', headers: { 'Retry-After': String(seconds) },
  })

  /** The account whose secret this is, or a thrown 401/429/403. Failures count against the limiter. */
  async function login(c: Context, username: string, password: string, challenge: boolean): Promise<AccountRow> {
    const from = address(c)
    const gate = limiter.check(username, from)
    if (!gate.allowed) {
      log.warn('login refused: too many failures', { address: from })
      throw tooMany(gate.retryAfterSeconds)
    }
    const valid = username.length <= MAX_NAME && password.length <= MAX_SECRET
    const account = valid ? await accountByName(db, username) : null
    // Always one hash, account or not: the time taken says nothing about which names exist. Only a
    // secret that verified in the last minutes (verified-secrets.ts) answers sooner, to its owner.
    const ok = valid && await verifier.verify(password, account?.secretHash ?? null)
    if (!ok || !account) {
      limiter.failed(username, from)
      // The name only when it is an account's: a password typed into the name field stays out of the log.
      log.warn('login failed', { account: account ? account.name : null, address: from })
      throw badCredentials(challenge)
    }
    limiter.succeeded(username, from)
    if (account.disabled) {
      log.warn('login refused: account disabled', { account: account.name, address: from })
      throw ociError('DENIED', { message: 'account disabled' })
    }
    return account
  }

  async function newRefreshToken(account: AccountRow, clientId: string | undefined): Promise<string> {
    const token = randomBytes(32).toString('base64url')
    const at = now()
    await insertRefreshToken(db, {
      tokenHash: sha256(token), accountId: account.id, service: settings.service,
      clientId: clientId ? clientId.slice(0, MAX_NAME) : null, expiresAt: at + REFRESH_TOKEN_MS,
    }, at)
    return token
  }

  async function answer(c: Context, account: AccountRow | null, requested: Access[], extra: { refreshToken?: string; scope?: boolean; grant: string }): Promise<Response> {
    const access = await grantedAccess(db, account, requested)
    const key = await keys.signingKey()
    const at = now()
    const iat = Math.floor(at / 1000)
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(settings.issuer).setSubject(account?.name ?? '').setAudience(settings.service)
      .setIssuedAt(iat).setNotBefore(iat).setExpirationTime(iat + tokenSeconds)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(key.key)
    const scopes = access.map(formatScope)
    // Anonymous tokens come with every public pull: debug, not info.
    const fields = { subject: account?.name ?? '', grant: extra.grant, access: scopes }
    if (account) log.info('token issued', fields)
    else log.debug('token issued', fields)
    return c.json({
      token, access_token: token, expires_in: tokenSeconds, issued_at: new Date(iat * 1000).toISOString(),
      // oauth.md: the POST answer names the scope granted.
      ...(extra.scope ? { scope: scopes.join(' ') } : {}),
      ...(extra.refreshToken ? { refresh_token: extra.refreshToken } : {}),
    }, 200, { 'Cache-Control': 'no-store', Pragma: 'no-cache' })
  }

  // token.md: GET with repeated `scope`, Basic credentials or none.
  app.get(TOKEN_PATH, async function getToken(c) {
    const service = c.req.query('service')
    if (service !== undefined && service !== settings.service) return oauthError(c, 'invalid_request', 'unknown service')
    const requested = parseScopes(c.req.queries('scope') ?? [])
    const credentials = basicCredentials(c.req.header('authorization'))
    if (credentials === null) return answer(c, null, requested, { grant: 'anonymous' })
    if (credentials === 'malformed') throw badCredentials(true)
    const named = c.req.query('account')
    if (named !== undefined && named !== '' && named !== credentials.username) {
      return oauthError(c, 'invalid_request', 'account does not match the credentials')
    }
    const account = await login(c, credentials.username, credentials.password, true)
    const refreshToken = c.req.query('offline_token') === 'true' ? await newRefreshToken(account, c.req.query('client_id')) : undefined
    return answer(c, account, requested, { refreshToken, grant: 'basic' })
  })

  // oauth.md: POST application/x-www-form-urlencoded.
  app.post(TOKEN_PATH, async function postToken(c) {
    const type = c.req.header('content-type') ?? ''
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) return oauthError(c, 'invalid_request', 'expected application/x-www-form-urlencoded')
    const body = Number(c.req.header('content-length') ?? 0) > MAX_FORM_BYTES ? null : await textUpTo(c.req.raw.body, MAX_FORM_BYTES)
    if (body === null) return oauthError(c, 'invalid_request', 'form too large')
    const form = new URLSearchParams(body)
    const grant = form.get('grant_type')
    const service = form.get('service')
    if (!grant) return oauthError(c, 'invalid_request', 'grant_type is required')
    if (grant !== 'password' && grant !== 'refresh_token') return oauthError(c, 'unsupported_grant_type', 'use password or refresh_token')
    if (service === null) return oauthError(c, 'invalid_request', 'service is required')
    if (service !== settings.service) return oauthError(c, 'invalid_request', 'unknown service')
    const requested = parseScopes(form.getAll('scope'))

    if (grant === 'password') {
      const username = form.get('username')
      const password = form.get('password')
      if (username === null || password === null) return oauthError(c, 'invalid_request', 'username and password are required')
      const account = await login(c, username, password, false)
      const refreshToken = form.get('access_type') === 'offline' ? await newRefreshToken(account, form.get('client_id') ?? undefined) : undefined
      return answer(c, account, requested, { refreshToken, scope: true, grant: 'password' })
    }

    const presented = form.get('refresh_token')
    if (!presented) return oauthError(c, 'invalid_request', 'refresh_token is required')
    const from = address(c)
    const gate = limiter.check('', from)
    if (!gate.allowed) throw tooMany(gate.retryAfterSeconds)
    const row = presented.length <= MAX_SECRET ? await refreshTokenByHash(db, sha256(presented), now()) : null
    // Bound to its service: a token issued for another service (or audience) refreshes nothing here.
    const account = row && row.service === service ? await accountById(db, row.accountId) : null
    if (!account) {
      limiter.failed('', from)
      log.warn('refresh token refused', { address: from })
      throw badCredentials(false)
    }
    if (account.disabled) throw ociError('DENIED', { message: 'account disabled' })
    // oauth.md: a refresh answers with the same refresh token, not a new one.
    return answer(c, account, requested, { refreshToken: presented, scope: true, grant: 'refresh_token' })
  })

  app.get(JWKS_PATH, async function servedJwks(c) {
    return c.json(await keys.jwks(), 200, { 'Cache-Control': 'public, max-age=60' })
  })

  app.onError(function renderTokenError(err, c) {
    if (!isOciError(err) || err.status >= 500) log.error('token endpoint failed', { method: c.req.method, path: c.req.path, error: describeError(err) })
    return renderError(err, c.req.method)
  })
  return app
}
