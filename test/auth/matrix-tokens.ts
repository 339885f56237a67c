// Tokens for the auth matrix: real ones from the origin's token endpoint (what a client gets), and
// test-only ones a client could never get: signed with the origin's real key but with claims the
// verifier must refuse (expired, not yet valid, another audience or issuer), signed with a key the
// test makes (forged signature, unknown kid), or not ES256 at all (`alg: none`, HS256 keyed with
// the public key: the classic algorithm-confusion attacks).

import { createHmac, createPublicKey, randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import type { Access, Jwks, TokenClaims } from '../../oci/auth/types.ts'

/** What the registry's challenge names: where tokens come from and for which service. */
export interface Challenge {
  scheme: string
  params: Record<string, string>
}

/** Parses `Bearer realm="…",service="…",scope="…",error="…"` (RFC 6750 §3). */
export function parseChallenge(header: string | null): Challenge | null {
  if (!header) return null
  const match = /^(\S+)\s*(.*)$/.exec(header.trim())
  if (!match) return null
  const params: Record<string, string> = {}
  for (const m of match[2]!.matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) params[m[1]!.toLowerCase()] = m[2]!.replace(/\\(.)/g, '$1')
  return { scheme: match[1]!, params }
}

function base64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url')
}

/** The claims of a token, read without verifying it (what the test knows it asked for). */
export function claimsOf(token: string): TokenClaims {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as TokenClaims
}

export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>
}

export interface Credentials {
  user: string
  secret: string
}

/**
 * A token from the token endpoint (token.md: GET realm?service=…&scope=…, Basic credentials or
 * none for anonymous). Throws with the status when the endpoint refuses.
 */
export async function fetchToken(realm: string, service: string, credentials: Credentials | null, scopes: string[]): Promise<string> {
  const url = new URL(realm)
  url.searchParams.set('service', service)
  for (const scope of scopes) url.searchParams.append('scope', scope)
  const headers: Record<string, string> = {}
  if (credentials) headers.authorization = `Basic ${Buffer.from(`${credentials.user}:${credentials.secret}`).toString('base64')}`
  const res = await fetch(url, { headers })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${text}`)
  const body = JSON.parse(text) as { token?: string; access_token?: string }
  const token = body.token ?? body.access_token
  if (!token) throw new Error(`token endpoint answered without a token: ${text}`)
  return token
}

export interface SigningKey {
  kid: string
  key: CryptoKey
}

/** A fresh ES256 key the origin has never seen, with its thumbprint as kid (as the origin names its own). */
export async function makeStrangerKey(): Promise<SigningKey & { publicJwk: JsonWebKey }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  return { kid: await calculateJwkThumbprint(publicJwk), key: privateKey as CryptoKey, publicJwk }
}

export interface ClaimsBase {
  issuer: string
  service: string
  subject: string
  access: Access[]
}

/** Claims like the origin's, valid for 5 minutes from now unless overridden. */
export function claims(base: ClaimsBase, overrides: Partial<TokenClaims> = {}): TokenClaims {
  const now = Math.floor(Date.now() / 1000)
  return {
    iss: base.issuer, sub: base.subject, aud: base.service,
    exp: now + 300, nbf: now, iat: now, jti: randomUUID(),
    access: base.access,
    ...overrides,
  }
}

/** An ES256 JWS of `payload` with `key`, announcing `kid` (which may name another key: a forgery). */
export function signEs256(payload: TokenClaims, key: CryptoKey, kid: string): Promise<string> {
  return new SignJWT(payload as unknown as JWTPayload).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid }).sign(key)
}

/** An unsecured JWS (RFC 7519 §6): `alg: none`, empty signature. */
export function unsignedToken(payload: TokenClaims, kid: string): string {
  return `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid }))}.${base64url(JSON.stringify(payload))}.`
}

/**
 * HS256 tokens keyed with the public key, in every form a confused verifier might use as the HMAC
 * secret: the JWK as JSON, the SPKI PEM, the DER, and the raw EC point.
 */
export function hmacWithPublicKey(payload: TokenClaims, publicJwk: JsonWebKey & { kid: string }): string[] {
  const { kid } = publicJwk
  const keyObject = createPublicKey({ key: publicJwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' })
  const pem = keyObject.export({ type: 'spki', format: 'pem' }) as string
  const der = keyObject.export({ type: 'spki', format: 'der' })
  const point = der.subarray(der.byteLength - 65)
  const secrets: Array<string | Uint8Array> = [JSON.stringify(publicJwk), pem, pem.trim(), der, point]
  const signingInput = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid }))}.${base64url(JSON.stringify(payload))}`
  return secrets.map((secret) => `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`)
}

/** The origin's published keys (JWKS_PATH). */
export async function fetchJwks(jwksUrl: string): Promise<Jwks> {
  const res = await fetch(jwksUrl)
  if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`)
  return (await res.json()) as Jwks
}
