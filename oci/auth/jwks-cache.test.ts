import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { createJwksKeySource } from './jwks-cache.ts'
import { createTokenVerifier, TokenInvalid } from './verify.ts'
import type { Jwks, JsonWebKeyWithKid } from './types.ts'

const key = (kid: string): JsonWebKeyWithKid => ({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid, alg: 'ES256' })

/** A JWKS "origin" whose answer and failures the test sets, counting fetches, on a fake clock. */
function origin(initial: JsonWebKeyWithKid[]) {
  const state = { keys: initial, fail: false, fetches: 0, clock: 1_000_000, body: null as unknown }
  const fetchJwks = async (): Promise<Jwks> => {
    state.fetches++
    await new Promise((r) => setTimeout(r, 1))
    if (state.fail) throw new Error('connect ECONNREFUSED')
    return (state.body ?? { keys: state.keys }) as Jwks
  }
  return { state, fetchJwks, now: () => state.clock }
}

describe('createJwksKeySource', () => {
  it('fetches once on first use, then answers known kids from the cache', async () => {
    const o = origin([key('a'), key('b')])
    const source = createJwksKeySource({ fetchJwks: o.fetchJwks, now: o.now })
    const first = await Promise.all([source.key('a'), source.key('b'), source.key('a')])
    expect(first.map((k) => k?.kid)).toEqual(['a', 'b', 'a'])
    o.state.clock += 60_000
    expect((await source.key('b'))?.kid).toBe('b')
    expect(o.state.fetches).toBe(1)
  })

  it('fetches again for an unknown kid (a rotation) and finds the new key', async () => {
    const o = origin([key('a')])
    const source = createJwksKeySource({ fetchJwks: o.fetchJwks, now: o.now })
    await source.key('a')
    o.state.keys = [key('a'), key('b')]
    o.state.clock += 30_000
    expect((await source.key('b'))?.kid).toBe('b')
    expect(o.state.fetches).toBe(2)
  })

  it('fetches at most once per floor however many unknown kids arrive', async () => {
    const o = origin([key('a')])
    const source = createJwksKeySource({ fetchJwks: o.fetchJwks, minRefreshMs: 30_000, now: o.now })
    await source.key('a')
    o.state.clock += 30_000
    // A flood, concurrent and then sequential, all with made-up kids.
    expect(await Promise.all(Array.from({ length: 200 }, (_, i) => source.key(`forged-${i}`)))).toEqual(Array(200).fill(null))
    for (let i = 0; i < 50; i++) {
      o.state.clock += 500
      expect(await source.key(`again-${i}`)).toBeNull()
    }
    expect(o.state.fetches).toBe(2)
    // A real new key published meanwhile waits for the floor, then is found.
    o.state.keys = [key('a'), key('c')]
    expect(await source.key('c')).toBeNull()
    o.state.clock += 5_000
    expect((await source.key('c'))?.kid).toBe('c')
    expect(o.state.fetches).toBe(3)
  })

  it('keeps the keys it had when a fetch fails, and spaces out the retries', async () => {
    const o = origin([key('a')])
    const source = createJwksKeySource({ fetchJwks: o.fetchJwks, minRefreshMs: 30_000, maxAgeMs: 600_000, now: o.now })
    await source.key('a')
    o.state.fail = true
    o.state.clock += 600_000
    expect((await source.key('a'))?.kid).toBe('a')
    expect(await source.key('unknown')).toBeNull()
    o.state.clock += 1_000
    expect((await source.key('a'))?.kid).toBe('a')
    expect(o.state.fetches).toBe(2)
    o.state.fail = false
    o.state.keys = [key('b')]
    o.state.clock += 30_000
    expect((await source.key('b'))?.kid).toBe('b')
    expect(o.state.fetches).toBe(3)
  })

  it('answers null while the origin has never answered, retrying after the floor', async () => {
    const o = origin([key('a')])
    o.state.fail = true
    const source = createJwksKeySource({ fetchJwks: o.fetchJwks, minRefreshMs: 30_000, now: o.now })
    expect(await source.key('a')).toBeNull()
    expect(await source.key('a')).toBeNull()
    expect(o.state.fetches).toBe(1)
    o.state.fail = false
    o.state.clock += 30_000
    expect((await source.key('a'))?.kid).toBe('a')
  })

  it('refreshes keys older than maxAgeMs, so a retired key leaves', async () => {
    const o = origin([key('old'), key('new')])
    const source = createJwksKeySource({ fetchJwks: o.fetchJwks, maxAgeMs: 600_000, now: o.now })
    expect((await source.key('old'))?.kid).toBe('old')
    o.state.keys = [key('new')]
    o.state.clock += 599_000
    expect((await source.key('old'))?.kid).toBe('old')
    o.state.clock += 1_000
    expect(await source.key('old')).toBeNull()
    expect((await source.key('new'))?.kid).toBe('new')
    expect(o.state.fetches).toBe(2)
  })

  it('keeps its keys when the answer is not a JWKS, and skips entries without a kid', async () => {
    const o = origin([key('a'), { kty: 'EC' } as JsonWebKeyWithKid])
    const source = createJwksKeySource({ fetchJwks: o.fetchJwks, now: o.now })
    expect((await source.key('a'))?.kid).toBe('a')
    o.state.body = { error: 'maintenance' }
    o.state.clock += 600_000
    expect((await source.key('a'))?.kid).toBe('a')
    expect(o.state.fetches).toBe(2)
  })

  it('gives up on a fetch that hangs, keeping its keys', async () => {
    let calls = 0
    const hang = new Promise<Jwks>(() => {})
    let clock = 0
    const source = createJwksKeySource({
      fetchJwks: async () => (++calls === 1 ? { keys: [key('a')] } : hang),
      minRefreshMs: 0, fetchTimeoutMs: 20, now: () => clock,
    })
    expect((await source.key('a'))?.kid).toBe('a')
    clock += 1
    expect(await source.key('b')).toBeNull()
    expect((await source.key('a'))?.kid).toBe('a')
    expect(calls).toBe(2)
  })

  it('feeds a verifier: a token signed with a key published after start verifies; a forged kid does not', async () => {
    const issue = async () => {
      const { publicKey, privateKey } = await generateKeyPair('ES256')
      const jwk = await exportJWK(publicKey)
      const kid = await calculateJwkThumbprint(jwk)
      return { jwk: { ...jwk, kid, alg: 'ES256' }, sign: () => new SignJWT({ sub: 'ci', jti: 'j', access: [] }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer('iss').setAudience('svc').setIssuedAt().setNotBefore('0s').setExpirationTime('5m').sign(privateKey) }
    }
    const first = await issue()
    const second = await issue()
    const published: JsonWebKeyWithKid[] = [first.jwk]
    let fetches = 0
    const keys = createJwksKeySource({ fetchJwks: async () => { fetches++; return { keys: [...published] } }, minRefreshMs: 0 })
    const verify = createTokenVerifier({ keys, issuer: 'iss', audience: 'svc' })
    expect((await verify(await first.sign())).sub).toBe('ci')
    published.push(second.jwk)
    expect((await verify(await second.sign())).sub).toBe('ci')
    expect(fetches).toBe(2)
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'made-up' }).sign((await generateKeyPair('ES256')).privateKey)
    await expect(verify(forged)).rejects.toBeInstanceOf(TokenInvalid)
  })
})
