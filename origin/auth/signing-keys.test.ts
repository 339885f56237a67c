import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SignJWT, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { openDatabase, closeDatabase, type Db } from '../../db/client.ts'
import { createKeyStore, KEY_CACHE_MS } from './signing-keys.ts'

let dir: string
let db: Db
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meridian-keys-'))
  db = openDatabase(join(dir, 'meridian.db'))
})
afterEach(() => {
  closeDatabase(db)
  rmSync(dir, { recursive: true, force: true })
})

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

  it('rotates without downtime: the old key verifies until its last token expired, then leaves the JWKS', async () => {
    let now = Date.UTC(2026, 11, 1, 9, 0, 0)
    const store = createKeyStore(db, { tokenSeconds: 300, clockSkewSeconds: 30, now: () => now })
    const old = await store.signingKey()
    const oldToken = await sign(old, now)

    const rotated = await store.rotate()
    expect(rotated.retired).toBe(old.kid)
    expect(rotated.kid).not.toBe(old.kid)
    expect((await store.signingKey()).kid).toBe(rotated.kid)
    expect((await store.jwks()).keys.map((k) => k.kid).sort()).toEqual([old.kid, rotated.kid].sort())
    expect(await store.keySource.key(old.kid)).toMatchObject({ kid: old.kid, alg: 'ES256' })

    now += 299_000 // the old token's last second
    expect(await verifiesWith(await store.jwks(), oldToken, now)).toBe(true)

    now += 1_000 + 30_000 + KEY_CACHE_MS // past lifetime + skew + another origin's cache window
    expect((await store.jwks()).keys.map((k) => k.kid)).toEqual([rotated.kid])
    expect(await store.keySource.key(old.kid)).toBeNull()
    expect(await verifiesWith(await store.jwks(), oldToken, now)).toBe(false)
  })

  it('picks up a rotation made by another origin within the cache window', async () => {
    let now = Date.now()
    const here = createKeyStore(db, { now: () => now })
    const there = createKeyStore(db, { now: () => now })
    const first = await here.signingKey()
    const { kid } = await there.rotate()
    expect(await here.keySource.key(kid)).toMatchObject({ kid }) // an unknown kid is looked up at once
    now += KEY_CACHE_MS
    expect((await here.signingKey()).kid).toBe(kid)
    expect(await here.keySource.key(first.kid)).not.toBeNull() // retired, still verifying
  })

  it('knows no key it never made', async () => {
    const store = createKeyStore(db)
    await store.signingKey()
    expect(await store.keySource.key('nope')).toBeNull()
  })
})
