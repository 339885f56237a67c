// How the swift driver gets a token and the account's storage URL: the v1 auth (Swift's tempauth,
// swauth and many providers: `X-Auth-User`/`X-Auth-Key` in, `X-Auth-Token`/`X-Storage-Url` out)
// or Keystone v3 (password or application credential; the storage URL from the catalog's
// `object-store` endpoint). The token is cached, renewed a minute before it expires, and dropped
// when Swift answers 401 (storage/drivers/swift-client.ts). Portable: fetch only.

import { StorageError } from '../engine.ts'

export type SwiftAuth =
  | {
    version: 1
    /** `https://swift.example/auth/v1.0`. */
    authUrl: string
    /** `account:user` for tempauth. */
    user: string
    key: string
  }
  | ({
    version: 3
    /** Keystone's v3 root, `https://keystone.example:5000/v3` ('/v3' is added when missing). */
    authUrl: string
    /** Catalog endpoint interface: 'public' by default. */
    interface?: 'public' | 'internal' | 'admin'
    /** Catalog region; the first object-store endpoint of the interface when absent. */
    region?: string
  } & (KeystonePassword | KeystoneApplicationCredential))

export interface KeystonePassword {
  method: 'password'
  username?: string
  userId?: string
  password: string
  /** The user's domain when named by `username` ('Default' when neither is given). */
  userDomainName?: string
  userDomainId?: string
  /** The project to scope the token to (by name with its domain, or by id). */
  projectName?: string
  projectId?: string
  projectDomainName?: string
  projectDomainId?: string
}

export interface KeystoneApplicationCredential {
  method: 'application_credential'
  /** By id, or by name with its user. The credential carries its own project scope. */
  applicationCredentialId?: string
  applicationCredentialName?: string
  applicationCredentialSecret: string
  username?: string
  userId?: string
  userDomainName?: string
  userDomainId?: string
}

export interface SwiftSessionToken {
  token: string
  /** The account URL, `https://swift.example/v1/AUTH_<project>`, without a trailing slash. */
  storageUrl: string
  /** When to stop using the token (ms since the epoch); Infinity when the server says nothing. */
  expiresAt: number
}

export interface SwiftSession {
  /** A valid token, from the cache or a new login (one login at a time). */
  current(): Promise<SwiftSessionToken>
  /** Forgets `token` (Swift answered 401 to it): the next current() logs in again. */
  invalidate(token: string): void
  /** The literal secrets to scrub from messages. */
  readonly secrets: readonly string[]
}

export interface SwiftSessionOptions {
  location: string
  auth: SwiftAuth
  /** Overrides the storage URL the auth answers (a proxy in front, another catalog entry). */
  storageUrl?: string
  fetch: typeof fetch
  timeoutMs: number
}

/**
 * Renew this long before the server's expiry (a tenth of short lifetimes), so a request never
 * starts with a dying token.
 */
const RENEW_MARGIN_MS = 60_000

export function createSwiftSession({ location, auth, storageUrl, fetch, timeoutMs }: SwiftSessionOptions): SwiftSession {
  let cached: SwiftSessionToken | null = null
  let pending: Promise<SwiftSessionToken> | null = null
  const secrets = auth.version === 1 ? [auth.key] : auth.method === 'password' ? [auth.password] : [auth.applicationCredentialSecret]

  let renewAt = 0

  async function login(): Promise<SwiftSessionToken> {
    const issued = Date.now()
    const fresh = auth.version === 1 ? await loginV1(auth) : await loginV3(auth)
    renewAt = fresh.expiresAt - Math.min(RENEW_MARGIN_MS, (fresh.expiresAt - issued) / 10)
    return storageUrl ? { ...fresh, storageUrl: storageUrl.replace(/\/+$/, '') } : fresh
  }

  async function post(url: string, init: RequestInit, doing: string): Promise<Response> {
    let res: Response
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
    } catch (err) {
      throw new StorageError('unavailable', location, `${location}: ${doing}: ${errorName(err)}`)
    }
    if (res.ok) return res
    await res.body?.cancel()
    const kind = res.status === 401 || res.status === 403 ? 'denied' : res.status >= 500 || res.status === 429 ? 'unavailable' : 'invalid'
    throw new StorageError(kind, location, `${location}: ${doing}: HTTP ${res.status}`)
  }

  async function loginV1(a: Extract<SwiftAuth, { version: 1 }>): Promise<SwiftSessionToken> {
    const res = await post(a.authUrl, { headers: { 'X-Auth-User': a.user, 'X-Auth-Key': a.key } }, 'v1 auth')
    await res.body?.cancel()
    const token = res.headers.get('x-auth-token') ?? res.headers.get('x-storage-token')
    const url = res.headers.get('x-storage-url')
    if (!token || !url) throw new StorageError('unavailable', location, `${location}: v1 auth: no X-Auth-Token or X-Storage-Url in the answer`)
    const seconds = Number(res.headers.get('x-auth-token-expires'))
    return { token, storageUrl: url.replace(/\/+$/, ''), expiresAt: seconds > 0 ? Date.now() + seconds * 1000 : Infinity }
  }

  async function loginV3(a: Extract<SwiftAuth, { version: 3 }>): Promise<SwiftSessionToken> {
    const root = a.authUrl.replace(/\/+$/, '')
    const url = `${/\/v3$/.test(root) ? root : `${root}/v3`}/auth/tokens`
    const res = await post(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ auth: keystoneAuthBody(a) }),
    }, 'keystone auth')
    const token = res.headers.get('x-subject-token')
    const body = await res.json().catch(() => null) as KeystoneTokenBody | null
    if (!token || !body?.token) throw new StorageError('unavailable', location, `${location}: keystone auth: no X-Subject-Token or token in the answer`)
    const wanted = a.interface ?? 'public'
    const endpoint = body.token.catalog?.filter((s) => s.type === 'object-store')
      .flatMap((s) => s.endpoints ?? [])
      .find((e) => e.interface === wanted && (a.region === undefined || e.region_id === a.region || e.region === a.region))
    const found = storageUrl ?? endpoint?.url
    if (!found) throw new StorageError('unavailable', location, `${location}: keystone auth: no ${wanted} object-store endpoint${a.region ? ` in region ${a.region}` : ''} in the catalog`)
    const expires = Date.parse(body.token.expires_at ?? '')
    return { token, storageUrl: found.replace(/\/+$/, ''), expiresAt: Number.isFinite(expires) ? expires : Infinity }
  }

  return {
    secrets,
    async current() {
      if (cached && renewAt > Date.now()) return cached
      pending ??= login().then((fresh) => (cached = fresh)).finally(() => (pending = null))
      return pending
    },
    invalidate(token) {
      if (cached?.token === token) cached = null
    },
  }
}

interface KeystoneTokenBody {
  token?: {
    expires_at?: string
    catalog?: Array<{ type?: string; endpoints?: Array<{ interface?: string; region?: string; region_id?: string; url?: string }> }>
  }
}

/** The `auth` object of Keystone's POST /v3/auth/tokens (identity API v3, "Password authentication"). */
export function keystoneAuthBody(a: Extract<SwiftAuth, { version: 3 }>): Record<string, unknown> {
  const domain = (id?: string, name?: string) => (id ? { id } : { name: name ?? 'Default' })
  const user = (name?: string, id?: string, domainId?: string, domainName?: string) => (id ? { id } : { name, domain: domain(domainId, domainName) })
  if (a.method === 'application_credential') {
    const credential = a.applicationCredentialId
      ? { id: a.applicationCredentialId, secret: a.applicationCredentialSecret }
      : { name: a.applicationCredentialName, secret: a.applicationCredentialSecret, user: user(a.username, a.userId, a.userDomainId, a.userDomainName) }
    // No scope: an application credential is bound to its project.
    return { identity: { methods: ['application_credential'], application_credential: credential } }
  }
  const identity = { methods: ['password'], password: { user: { ...user(a.username, a.userId, a.userDomainId, a.userDomainName), password: a.password } } }
  const project = a.projectId ? { id: a.projectId } : a.projectName ? { name: a.projectName, domain: domain(a.projectDomainId, a.projectDomainName) } : null
  return project ? { identity, scope: { project } } : { identity }
}

function errorName(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time'
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code
  return typeof cause === 'string' ? cause : err instanceof Error ? err.message : String(err)
}
