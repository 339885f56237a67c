import { calculateJwkThumbprint, exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTokenVerifier, TokenInvalid, type VerifyToken } from './verify.ts'
import type { JsonWebKeyWithKid, KeySource } from './types.ts'

const ISSUER = 'meridian:registry.example'
const AUDIENCE = 'registry.example'
const NOW = 1_800_000_000 // seconds; the verifier's clock is pinned here

interface Signer { kid: string; jwk: JsonWebKeyWithKid; privateKey: CryptoKey }

async function newSigner(kid?: string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  const exported = await exportJWK(publicKey)
  const id = kid ?? await calculateJwkThumbprint(exported)
  return { kid: id, jwk: { ...exported, kid: id, alg: 'ES256' }, privateKey }
}

function keySourceOf(...signers: Signer[]): KeySource {
  const byKid = new Map(signers.map((s) => [s.kid, s.jwk]))
  return { key: async (kid) => byKid.get(kid) ?? null }
}

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: ISSUER, sub: 'alice', aud: AUDIENCE, exp: NOW + 300, nbf: NOW, iat: NOW, jti: 'j1',
    access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }],
    ...overrides,
  }
}

async function sign(signer: Signer, payload: JWTPayload = claims(), header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'JWT', ...header }).sign(signer.privateKey)
}

const b64 = (value: unknown) => btoa(typeof value === 'string' ? value : JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')

async function refusal(verify: VerifyToken, token: string): Promise<string> {
  const err = await verify(token).then(() => null, (e: unknown) => e)
  expect(err).toBeInstanceOf(TokenInvalid)
  const reason = (err as TokenInvalid).reason
  // The reason and message never carry the token or any part of it.
  for (const part of token.split('.').filter((p) => p.length > 8)) {
    expect((err as Error).message).not.toContain(part)
    expect(reason).not.toContain(part)
  }
  return reason
}

describe('createTokenVerifier', () => {
  let signer: Signer
  let verify: VerifyToken
  let at: (seconds: number) => VerifyToken

  beforeAll(async () => {
    signer = await newSigner()
    at = (seconds) => createTokenVerifier({ keys: keySourceOf(signer), issuer: ISSUER, audience: AUDIENCE, now: () => seconds * 1000 })
    verify = at(NOW)
  })

  it('accepts a token we issued and returns its claims', async () => {
    expect(await verify(await sign(signer))).toEqual({
      iss: ISSUER, sub: 'alice', aud: AUDIENCE, exp: NOW + 300, nbf: NOW, iat: NOW, jti: 'j1',
      access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }],
    })
  })

  it('accepts an anonymous token with an empty access list, and an aud list holding ours', async () => {
    expect((await verify(await sign(signer, claims({ sub: '', access: [] })))).sub).toBe('')
    expect((await verify(await sign(signer, claims({ aud: ['other.example', AUDIENCE] })))).aud).toBe(AUDIENCE)
  })

  it('refuses an expired token, with 30 s of skew', async () => {
    const token = await sign(signer)
    expect(await refusal(at(NOW + 300 + 31), token)).toBe('expired')
    expect((await at(NOW + 300 + 29)(token)).sub).toBe('alice')
  })

  it('refuses a token not yet valid beyond the skew, accepts one within it', async () => {
    expect(await refusal(verify, await sign(signer, claims({ nbf: NOW + 31, iat: NOW + 31, exp: NOW + 331 })))).toBe('not yet valid')
    expect((await verify(await sign(signer, claims({ nbf: NOW + 29, iat: NOW + 29, exp: NOW + 329 })))).sub).toBe('alice')
  })

  it('honours a custom skew', async () => {
    const strict = createTokenVerifier({ keys: keySourceOf(signer), issuer: ISSUER, audience: AUDIENCE, clockSkewSeconds: 0, now: () => (NOW + 301) * 1000 })
    expect(await refusal(strict, await sign(signer))).toBe('expired')
  })

  it('refuses the wrong issuer, the wrong audience and a token for another service', async () => {
    expect(await refusal(verify, await sign(signer, claims({ iss: 'meridian:elsewhere' })))).toBe('wrong issuer')
    expect(await refusal(verify, await sign(signer, claims({ aud: 'elsewhere.example' })))).toBe('wrong audience')
    // Same key and issuer (a shared key store), another service: still not ours to honour.
    const other = createTokenVerifier({ keys: keySourceOf(signer), issuer: ISSUER, audience: 'other.example', now: () => NOW * 1000 })
    expect(await refusal(other, await sign(signer))).toBe('wrong audience')
  })

  it('refuses a token without a kid or with a kid nobody knows', async () => {
    const noKid = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256' }).sign(signer.privateKey)
    expect(await refusal(verify, noKid)).toBe('no kid in the header')
    expect(await refusal(verify, await sign(signer, claims(), { kid: 'nobody' }))).toBe('unknown kid')
  })

  it('refuses alg none', async () => {
    const token = `${b64({ alg: 'none', kid: signer.kid, typ: 'JWT' })}.${b64(claims())}.`
    expect(await refusal(verify, token)).toBe('algorithm not allowed')
  })

  it('refuses HS256 signed with the public key as the secret', async () => {
    const victim = await newSigner()
    const forgedWith = async (secret: Uint8Array) => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: victim.kid }).sign(secret)
    const keys = keySourceOf(victim)
    const verifier = createTokenVerifier({ keys, issuer: ISSUER, audience: AUDIENCE, now: () => NOW * 1000 })
    const spki = await exportSPKI(await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: victim.jwk.x, y: victim.jwk.y }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']))
    for (const secret of [JSON.stringify(victim.jwk), spki, victim.jwk.x!]) {
      expect(await refusal(verifier, await forgedWith(new TextEncoder().encode(secret)))).toBe('algorithm not allowed')
    }
  })

  it('refuses other algorithms, even asymmetric ones', async () => {
    const { privateKey } = await generateKeyPair('ES384')
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES384', kid: signer.kid }).sign(privateKey)
    expect(await refusal(verify, token)).toBe('algorithm not allowed')
  })

  it('refuses a token signed by another key under the same kid', async () => {
    const impostor = await newSigner(signer.kid)
    expect(await refusal(verify, await sign(impostor))).toBe('bad signature')
  })

  it('refuses a tampered payload', async () => {
    const [header, , signature] = (await sign(signer, claims({ access: [{ type: 'repository', name: 'team/app', actions: ['pull'] }] }))).split('.')
    const widened = b64(claims({ access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] }] }))
    expect(await refusal(verify, `${header}.${widened}.${signature}`)).toBe('bad signature')
  })

  it('refuses malformed access claims', async () => {
    for (const access of [
      'repository:team/app:pull', { type: 'repository', name: 'x', actions: ['pull'] }, [null], [['repository', 'x', ['pull']]],
      [{ type: 'repo', name: 'x', actions: ['pull'] }], [{ type: 'repository', actions: ['pull'] }], [{ type: 'repository', name: '', actions: ['pull'] }],
      [{ type: 'repository', name: 'x', actions: 'pull' }], [{ type: 'repository', name: 'x', actions: ['pull', 7] }], [{ type: 'repository', name: 'x' }],
    ]) {
      expect(await refusal(verify, await sign(signer, claims({ access }))), JSON.stringify(access)).toBe('malformed access claim')
    }
    expect(await refusal(verify, await sign(signer, claims({ access: undefined })))).toBe('missing or invalid access claim')
  })

  it('refuses tokens missing a claim or with one of the wrong type', async () => {
    expect(await refusal(verify, await sign(signer, claims({ sub: undefined })))).toBe('missing or invalid sub claim')
    expect(await refusal(verify, await sign(signer, claims({ sub: 7 })))).toMatch(/sub claim|invalid claims/)
    expect(await refusal(verify, await sign(signer, claims({ jti: undefined })))).toBe('missing or invalid jti claim')
    expect(await refusal(verify, await sign(signer, claims({ exp: undefined })))).toBe('missing or invalid exp claim')
    expect(await refusal(verify, await sign(signer, claims({ nbf: undefined })))).toBe('not yet valid')
    expect(await refusal(verify, await sign(signer, claims({ exp: 'later' })))).toMatch(/exp claim/)
  })

  it('refuses garbage without parsing much of it', async () => {
    for (const token of ['', 'abc', 'a.b.c', 'a.b', '..', 'x'.repeat(20_000)]) {
      expect(await refusal(verify, token)).toBe('malformed token')
    }
    expect(await refusal(verify, `${b64({ alg: 'ES256', kid: signer.kid })}.!!.x`)).toMatch(/^(malformed token|bad signature)$/)
  })

  it('refuses a key that is not an ES256 public key, and ignores a private part in the JWK', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true })
    const rsaJwk = { ...await exportJWK(rsa.publicKey), kid: signer.kid, alg: 'RS256' }
    const wrongKey = createTokenVerifier({ keys: { key: async () => rsaJwk }, issuer: ISSUER, audience: AUDIENCE, now: () => NOW * 1000 })
    expect(await refusal(wrongKey, await sign(signer))).toBe('key is not an ES256 key')
    const withPrivate = { ...await exportJWK(signer.privateKey), kid: signer.kid, alg: 'ES256' }
    const lenient = createTokenVerifier({ keys: { key: async () => withPrivate }, issuer: ISSUER, audience: AUDIENCE, now: () => NOW * 1000 })
    expect((await lenient(await sign(signer))).sub).toBe('alice')
  })

  it('lets a failing key source fail as itself, not as an invalid token', async () => {
    const broken = createTokenVerifier({ keys: { key: async () => { throw new Error('database is locked') } }, issuer: ISSUER, audience: AUDIENCE, now: () => NOW * 1000 })
    const err = await broken(await sign(signer)).catch((e: unknown) => e)
    expect(err).not.toBeInstanceOf(TokenInvalid)
    expect((err as Error).message).toBe('database is locked')
  })

  it('verifies with a key that was rotated in, and keeps verifying with the retired one', async () => {
    const next = await newSigner()
    const both = createTokenVerifier({ keys: keySourceOf(signer, next), issuer: ISSUER, audience: AUDIENCE, now: () => NOW * 1000 })
    expect((await both(await sign(next))).sub).toBe('alice')
    expect((await both(await sign(signer))).sub).toBe('alice')
  })
  it('remembers a verified token without a second signature check, while its key is held, until its exp', async () => {
    let clock = NOW
    let lookups = 0
    const held = new Map([[signer.kid, signer.jwk]])
    const counting: KeySource = { key: async (kid) => { lookups++; return held.get(kid) ?? null } }
    const remembering = createTokenVerifier({ keys: counting, issuer: ISSUER, audience: AUDIENCE, now: () => clock * 1000, cacheSeconds: 3_600 })
    const token = await sign(signer)
    const first = await remembering(token)
    expect(await remembering(token)).toBe(first) // the same object: not verified again
    expect(lookups).toBe(2) // one to verify, one to see the key is still there
    clock = NOW + 300 + 29
    expect(await remembering(token)).toBe(first)
    clock = NOW + 300 + 30
    expect(await refusal(remembering, token)).toBe('expired')
  })

  it('forgets a remembered token once its key is withdrawn (a rotation after a leak)', async () => {
    let clock = NOW
    const held = new Map([[signer.kid, signer.jwk]])
    const remembering = createTokenVerifier({ keys: { key: async (kid) => held.get(kid) ?? null }, issuer: ISSUER, audience: AUDIENCE, now: () => clock * 1000 })
    const token = await sign(signer)
    expect((await remembering(token)).sub).toBe('alice')
    held.clear()
    expect(await refusal(remembering, token)).toBe('unknown kid')
    expect(await refusal(remembering, await sign(signer, claims({ jti: 'j2' })))).toBe('unknown kid')
    // Back (an edge's JWKS briefly without it): verified afresh, not from a stale entry.
    held.set(signer.kid, signer.jwk)
    clock = NOW + 10
    expect((await remembering(token)).sub).toBe('alice')
  })

  it('remembers a token at most cacheSeconds, then checks its signature again', async () => {
    let clock = NOW
    let lookups = 0
    const counting: KeySource = { key: async (kid) => { lookups++; return kid === signer.kid ? signer.jwk : null } }
    const remembering = createTokenVerifier({ keys: counting, issuer: ISSUER, audience: AUDIENCE, now: () => clock * 1000, cacheSeconds: 60 })
    const token = await sign(signer, claims({ exp: NOW + 3_600 }))
    const first = await remembering(token)
    clock = NOW + 59
    expect(await remembering(token)).toBe(first)
    clock = NOW + 60
    const again = await remembering(token) // verified afresh: new claims, remembered anew
    expect(again).not.toBe(first)
    expect(again).toEqual(first)
    clock = NOW + 61
    expect(await remembering(token)).toBe(again)
    expect(lookups).toBe(4)
  })

  it('refuses a token living longer than the maximum lifetime, or issued in the future', async () => {
    const far = await sign(signer, claims({ exp: 4_070_908_800 })) // 2099, as a leaked key would sign
    expect(await refusal(verify, far)).toBe('lifetime too long')
    expect((await verify(await sign(signer, claims({ exp: NOW + 86_400 + 30 })))).sub).toBe('alice')
    expect(await refusal(verify, await sign(signer, claims({ exp: NOW + 86_400 + 31 })))).toBe('lifetime too long')
    const short = createTokenVerifier({ keys: keySourceOf(signer), issuer: ISSUER, audience: AUDIENCE, now: () => NOW * 1000, maxLifetimeSeconds: 300 })
    expect((await short(await sign(signer))).sub).toBe('alice')
    expect(await refusal(short, await sign(signer, claims({ exp: NOW + 301 })))).toBe('lifetime too long')
    // nbf now, iat an hour ahead (exp - iat looks short): refused.
    expect(await refusal(verify, await sign(signer, claims({ iat: NOW + 3_600, exp: NOW + 3_900 })))).toBe('issued in the future')
    expect((await verify(await sign(signer, claims({ iat: NOW + 30 })))).sub).toBe('alice')
  })

  it('hands out claims nobody can change, since requests share them', async () => {
    const got = await verify(await sign(signer))
    expect(Object.isFrozen(got) && Object.isFrozen(got.access) && Object.isFrozen(got.access[0]) && Object.isFrozen(got.access[0]!.actions)).toBe(true)
    expect(() => got.access[0]!.actions.push('delete')).toThrow()
  })

  it('remembers a bounded number of tokens, or none', async () => {
    const small = createTokenVerifier({ keys: keySourceOf(signer), issuer: ISSUER, audience: AUDIENCE, now: () => NOW * 1000, cacheSize: 2 })
    const tokens = await Promise.all(['a', 'b', 'c'].map((jti) => sign(signer, claims({ jti }))))
    const first = []
    for (const t of tokens) first.push(await small(t))
    expect(await small(tokens[2]!)).toBe(first[2]) // remembered
    expect(await small(tokens[0]!)).not.toBe(first[0]) // evicted by c, verified again
    const none = createTokenVerifier({ keys: keySourceOf(signer), issuer: ISSUER, audience: AUDIENCE, now: () => NOW * 1000, cacheSize: 0 })
    expect(await none(tokens[0]!)).not.toBe(await none(tokens[0]!))
  })
})
