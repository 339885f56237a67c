import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SignJWT, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import type { Db } from '../../db/client.ts'
import { openTestDatabase, type TestDatabase } from '../../test/helpers/test-database.ts'
import { createJwksKeySource } from '../../oci/auth/jwks-cache.ts'
import { createTokenVerifier } from '../../oci/auth/verify.ts'
import { ACTIVATION_DELAY_MS, createKeyStore, KEY_CACHE_MS } from './signing-keys.ts'

let t: TestDatabase
let db: Db
beforeEach(async () => {
  t = await openTestDatabase('meridian-keys-')
  db = t.db
})
afterEach(() => t.close())

async function sign(key: { kid: string; key: CryptoKey }, at: number): Promise<string> {
  return new SignJWT({ access: [] }).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuedAt(Math.floor(at / 1000)).setExpirationTime(Math.floor(at / 1000) + 300).sign(key.key)
}

async function verifiesWith(jwks: Awaited<ReturnType<ReturnType<typeof createKeyStore>['jwks']>>, token: string, at: number): Promise<boolean> {
  try {
    await jwtVerify(token, createLocalJWKSet(jwks as never), { algorithms: ['ES256'], currentDate: new Date(at) })
    return true
  } catch {
    return false
  }
}

describe('signing keys', () => {
  it('creates one ES256 key on first use, its kid the JWK thumbprint, and every origin on the database shares it', async () => {
    const a = createKeyStore(db)
    const b = createKeyStore(db)
    const [ka, kb] = await Promise.all([a.signingKey(), b.signingKey()])
    expect(ka.kid).toBe(kb.kid)
    expect(ka.alg).toBe('ES256')
    const jwks = await a.jwks()
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({ kid: ka.kid, alg: 'ES256', kty: 'EC', crv: 'P-256' })
    expect(jwks.keys[0]).not.toHaveProperty('d') // never the private part
    const token = await sign(ka, Date.now())
    expect(decodeProtectedHeader(token).kid).toBe(ka.kid)
    expect(await verifiesWith(jwks, token, Date.now())).toBe(true)
  })

  it('rotates without downtime: the new key is published at once and signs after the delay; the old one signs until then and verifies until its last token expired', async () => {
    let now = Date.UTC(2026, 11, 1, 9, 0, 0)
    const store = createKeyStore(db, { tokenSeconds: 300, clockSkewSeconds: 30, now: () => now })
    const old = await store.signingKey()

    const rotated = await store.rotate()
    const signsAt = now + ACTIVATION_DELAY_MS
    expect(ACTIVATION_DELAY_MS).toBe(45_000)
    expect(rotated).toEqual({ kid: expect.any(String), retired: old.kid, signsAt: new Date(signsAt).toISOString() })
    expect(rotated.kid).not.toBe(old.kid)
    expect((await store.jwks()).keys.map((k) => k.kid).sort()).toEqual([old.kid, rotated.kid].sort())
    expect(await store.keySource.key(rotated.kid)).toMatchObject({ kid: rotated.kid, alg: 'ES256' })

    now = signsAt - 1
    expect((await store.signingKey()).kid).toBe(old.kid)
    const oldToken = await sign(old, now) // the old key's last token
    now = signsAt
    expect((await store.signingKey()).kid).toBe(rotated.kid)
    expect(await store.keySource.key(old.kid)).toMatchObject({ kid: old.kid, alg: 'ES256' })

    now = signsAt - 1_000 + 299_000 // the old token's last second
    expect(await verifiesWith(await store.jwks(), oldToken, now)).toBe(true)
    now = signsAt + KEY_CACHE_MS + (300 + 30) * 1000 - 1
    expect((await store.jwks()).keys.map((k) => k.kid).sort()).toEqual([old.kid, rotated.kid].sort())

    now += 1 // past lifetime + skew + another origin's cache window, counted from the switch
    expect((await store.jwks()).keys.map((k) => k.kid)).toEqual([rotated.kid])
    expect(await store.keySource.key(old.kid)).toBeNull()
    expect(await verifiesWith(await store.jwks(), oldToken, now)).toBe(false)
  })

  it('an edge that fetched the JWKS just before a rotation verifies every token signed after it', async () => {
    let now = Date.UTC(2026, 11, 1, 9, 0, 0)
    const store = createKeyStore(db, { now: () => now })
    const edgeKeys = createJwksKeySource({ fetchJwks: () => store.jwks(), now: () => now })
    const edge = createTokenVerifier({ keys: edgeKeys, issuer: 'iss', audience: 'svc', now: () => now, cacheSize: 0 })
    const token = async () => {
      const { kid, key } = await store.signingKey()
      const iat = Math.floor(now / 1000)
      return new SignJWT({ sub: 'ci', jti: `j${now}`, access: [] }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer('iss').setAudience('svc')
        .setIssuedAt(iat).setNotBefore(iat).setExpirationTime(iat + 300).sign(key)
    }
    expect((await edge(await token())).sub).toBe('ci') // the edge fetches the JWKS now
    now += 1_000
    const { kid } = await store.rotate()
    // Right after the rotation, at every second until well past the switch: the edge, whose next
    // fetch may not come before its 30 s floor, verifies what the origin signs.
    for (let s = 0; s <= 120; s++) {
      expect((await edge(await token())).sub, `${s} s after the rotation`).toBe('ci')
      now += 1_000
    }
    expect((await store.signingKey()).kid).toBe(kid)
  })

  it('every origin on the database signs with the same key, before, at and after the switch', async () => {
    let now = Date.UTC(2026, 11, 1, 9, 0, 0)
    const here = createKeyStore(db, { now: () => now })
    const there = createKeyStore(db, { now: () => now, activationDelayMs: 0 }) // its own setting is irrelevant to the switch
    const first = await here.signingKey()
    const { kid, signsAt } = await here.rotate()
    now += KEY_CACHE_MS // past the cache window
    expect([(await here.signingKey()).kid, (await there.signingKey()).kid]).toEqual([first.kid, first.kid])
    now = Date.parse(signsAt)
    expect([(await here.signingKey()).kid, (await there.signingKey()).kid]).toEqual([kid, kid])
    // Two rotations close together: the middle key signs from the first switch to the second.
    const second = await there.rotate() // no delay here: signs at once
    expect(second.signsAt).toBe(new Date(now).toISOString())
    const third = await here.rotate()
    expect((await there.signingKey()).kid).toBe(second.kid)
    now = Date.parse(third.signsAt)
    expect([(await here.signingKey()).kid, (await there.signingKey()).kid]).toEqual([third.kid, third.kid])
  })

  it('picks up a rotation made by another origin within the cache window', async () => {
    let now = Date.now()
    const here = createKeyStore(db, { now: () => now })
    const there = createKeyStore(db, { now: () => now })
    const first = await here.signingKey()
    const { kid, signsAt } = await there.rotate()
    expect(await here.keySource.key(kid)).toMatchObject({ kid }) // an unknown kid is looked up at once
    now = Date.parse(signsAt)
    expect((await here.signingKey()).kid).toBe(kid)
    expect(await here.keySource.key(first.kid)).not.toBeNull() // retired, still verifying
  })

  it('signs with a rotated-in key at once on an empty table (a fresh deployment)', async () => {
    const now = Date.UTC(2026, 11, 1, 9, 0, 0)
    const store = createKeyStore(db, { now: () => now })
    const { kid, retired, signsAt } = await store.rotate()
    expect([retired, signsAt]).toEqual([null, new Date(now).toISOString()])
    expect((await store.signingKey()).kid).toBe(kid)
  })

  it('knows no key it never made', async () => {
    const store = createKeyStore(db)
    await store.signingKey()
    expect(await store.keySource.key('nope')).toBeNull()
  })
})
