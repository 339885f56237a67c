// What the edge access-control tests need around a real origin and a real Node edge: a recording
// proxy (in front of the origin, to see what the edge asks of it; in front of a location's
// storage host, to see that a client's Authorization never reaches it), accounts and tokens from
// the origin's own endpoint, and tokens signed in the test (expired, forged, for another audience:
// what no token endpoint hands out) with the origin's key or a stranger's.

import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey as JoseKey } from 'jose'
import type { Access, AuthSettings, JsonWebKeyWithKid } from '../../oci/auth/types.ts'
import { TOKEN_PATH } from '../../oci/auth/types.ts'
import type { Db } from '../../db/client.ts'
import { createAccount } from '../../db/queries/accounts.ts'
import { grantActions } from '../../db/queries/grants.ts'
import { hashSecret } from '../../origin/auth/passwords.ts'
import { createKeyStore } from '../../origin/auth/signing-keys.ts'
import { OCI_IMAGE_CONFIG } from '../../oci/media-types.ts'
import { OCI_LAYER, OCI_MANIFEST, at, imageManifest, randomBytes, sha256, utf8, type Bytes } from '../helpers/registry-client.ts'

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
}

export interface RecordingProxy {
  url: string
  requests: RecordedRequest[]
  /** Requests since `mark` (an index into requests) whose path starts with `prefix`. */
  since(mark: number, prefix?: string): RecordedRequest[]
  /** Paths starting with one of these are answered 503 (the target cut off for them). */
  blocked: Set<string>
  close(): Promise<void>
}

const DROPPED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'])

/** An HTTP server on 127.0.0.1 that records each request, then relays it to `target` as it is. */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = []
  const blocked = new Set<string>()
  const server = createServer((req, res) => {
    requests.push({ method: req.method!, path: req.url!, headers: req.headers })
    if ([...blocked].some((prefix) => req.url!.startsWith(prefix))) return res.writeHead(503).end()
    const headers = new Headers()
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !DROPPED.has(k)) headers.set(k, Array.isArray(v) ? v.join(', ') : v)
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
    const abort = new AbortController()
    res.on('close', () => abort.abort())
    const init: RequestInit & { duplex?: 'half' } = {
      method: req.method, headers, redirect: 'manual', signal: abort.signal,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
    }
    fetch(target + req.url, init).then((answer) => {
      const out: Record<string, string> = {}
      answer.headers.forEach((v, k) => { if (k !== 'transfer-encoding' && k !== 'content-encoding' && k !== 'connection') out[k] = v })
      res.writeHead(answer.status, out)
      if (!answer.body) return res.end()
      Readable.fromWeb(answer.body as never).on('error', () => res.destroy()).pipe(res)
    }, () => { if (!res.headersSent) res.writeHead(502); res.end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests, blocked,
    since: (mark, prefix = '') => requests.slice(mark).filter((r) => r.path.startsWith(prefix)),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

/** Requests a storage host got carrying an Authorization header (there must be none). */
export function withAuthorization(requests: RecordedRequest[]): RecordedRequest[] {
  return requests.filter((r) => r.headers.authorization !== undefined)
}

export interface TestKey {
  kid: string
  publicJwk?: JsonWebKeyWithKid
  privateKey: JoseKey | CryptoKey
}

/**
 * The origin's own signing key (the shared signing_keys table), for tokens its endpoint never
 * hands out (expired ones); `rotate` makes a new key sign, as `npm run admin` would.
 */
export function originKeys(db: Db) {
  // No activation delay: rotate() answers the key that signs from now on, as a rotation at the
  // origin would once its 45 s had passed (origin/auth/signing-keys.ts).
  const store = createKeyStore(db, { activationDelayMs: 0 })
  return {
    async current(): Promise<TestKey> {
      const { kid, key } = await store.signingKey()
      return { kid, privateKey: key }
    },
    async rotate(): Promise<TestKey> {
      await store.rotate()
      const { kid, key } = await store.signingKey()
      return { kid, privateKey: key }
    },
  }
}

export interface Credentials { user: string; secret: string }

/** An account made straight in the origin's database, with grants (`target` → actions). */
export async function makeAccount(db: Db, user: string, grants: Record<string, string[]>, isAdmin = false): Promise<Credentials> {
  const secret = `secret-${crypto.randomUUID()}`
  const account = await createAccount(db, { name: user, kind: 'user', secretHash: await hashSecret(secret), isAdmin })
  for (const [target, actions] of Object.entries(grants)) await grantActions(db, account.id, target, actions)
  return { user, secret }
}

/** A token from the origin's token endpoint (GET, token.md); anonymous without credentials. */
export async function tokenFrom(originUrl: string, settings: AuthSettings, scopes: string[], credentials?: Credentials): Promise<string> {
  const query = new URLSearchParams({ service: settings.service })
  for (const s of scopes) query.append('scope', s)
  const headers: Record<string, string> = credentials ? { authorization: `Basic ${btoa(`${credentials.user}:${credentials.secret}`)}` } : {}
  const res = await fetch(`${originUrl}${TOKEN_PATH}?${query}`, { headers })
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`)
  return ((await res.json()) as { token: string }).token
}

/** A one-layer image pushed with a token: blobs monolithically (POST, PUT ?digest=), then the manifest as `tag`. */
export async function pushImageWith(url: string, token: string, name: string, tag: string, layerBytes: Bytes = randomBytes(4096)) {
  const headers = { authorization: `Bearer ${token}` }
  async function blob(bytes: Bytes) {
    const opened = await fetch(at(url, `/v2/${name}/blobs/uploads/`), { method: 'POST', headers })
    if (opened.status !== 202) throw new Error(`upload answered ${opened.status}: ${await opened.text()}`)
    const target = new URL(at(url, opened.headers.get('location')!))
    const digest = sha256(bytes)
    target.searchParams.set('digest', digest)
    const closed = await fetch(target, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: bytes })
    if (closed.status !== 201) throw new Error(`blob PUT answered ${closed.status}: ${await closed.text()}`)
    return { digest, size: bytes.byteLength }
  }
  const config = await blob(utf8(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: Math.random() })))
  const layer = await blob(layerBytes)
  const manifest = imageManifest({ mediaType: OCI_IMAGE_CONFIG, ...config }, [{ mediaType: OCI_LAYER, ...layer }])
  const body = utf8(JSON.stringify(manifest))
  const res = await fetch(at(url, `/v2/${name}/manifests/${tag}`), { method: 'PUT', headers: { ...headers, 'content-type': OCI_MANIFEST }, body })
  if (res.status !== 201) throw new Error(`manifest PUT answered ${res.status}: ${await res.text()}`)
  await res.body?.cancel()
  return { manifest: sha256(body), layer: layer.digest, layerBytes, config, manifestBody: manifest }
}

/** An ES256 key whose kid is its JWK thumbprint, as the origin makes them. */
export async function newKey(): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk)
  return { kid, publicJwk: { ...jwk, kid, alg: 'ES256', use: 'sig' } as JsonWebKeyWithKid, privateKey }
}

export interface TokenOptions {
  access?: Access[]
  sub?: string
  /** Seconds from now (negative: already expired). */
  expiresIn?: number
  notBefore?: number
  audience?: string
  issuer?: string
  /** The kid written in the header (default: the signing key's). */
  kid?: string
}

/** A registry token (distribution jwt.md) signed with `key`. */
export async function signToken(key: TestKey, settings: AuthSettings, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ access: options.access ?? [] })
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? key.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? settings.issuer)
    .setSubject(options.sub ?? 'alice')
    .setAudience(options.audience ?? settings.service)
    .setIssuedAt(now)
    .setNotBefore(options.notBefore ?? now)
    .setExpirationTime(now + (options.expiresIn ?? 300))
    .setJti(crypto.randomUUID())
    .sign(key.privateKey)
}

export const pull = (name: string): Access => ({ type: 'repository', name, actions: ['pull'] })
export const pushPull = (name: string): Access => ({ type: 'repository', name, actions: ['pull', 'push'] })
export const catalog: Access = { type: 'registry', name: 'catalog', actions: ['*'] }

/** The settings an origin at `url` without a public URL uses (origin/config/auth.ts authSettingsFor). */
export function settingsFor(url: string): AuthSettings {
  const host = new URL(url).host
  return { realm: `${url}${TOKEN_PATH}`, service: host, issuer: `meridian:${host}` }
}

/** The parameters of a `WWW-Authenticate: Bearer ...` header. */
export function challengeOf(res: Response): Record<string, string> {
  const header = res.headers.get('www-authenticate') ?? ''
  if (!/^Bearer /i.test(header)) throw new Error(`not a Bearer challenge: ${header}`)
  return Object.fromEntries([...header.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]))
}
