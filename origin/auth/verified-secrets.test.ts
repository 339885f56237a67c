import { describe, expect, it } from 'vitest'
import { verifySecret } from './passwords.ts'
import { cheapHash } from '../../test/helpers/cheap-hash.ts'
import { createSecretVerifier } from './verified-secrets.ts'

/** The real scrypt check, counted: how many hashes a verifier actually spent. */
function counted() {
  let hashes = 0
  return { check: (secret: string, hash: string | null) => { hashes++; return verifySecret(secret, hash) }, hashes: () => hashes }
}

describe('remembered secret checks', () => {
  it('spends one scrypt on a right secret, then answers from memory until the time is up', async () => {
    const hash = cheapHash('s3cret')
    let t = 0
    const scrypt = counted()
    const verifier = createSecretVerifier({ ttlMs: 1000, now: () => t, check: scrypt.check })
    expect(await verifier.verify('s3cret', hash)).toBe(true)
    expect(await verifier.verify('s3cret', hash)).toBe(true)
    t = 999
    expect(await verifier.verify('s3cret', hash)).toBe(true)
    expect(scrypt.hashes()).toBe(1)
    t = 1000
    expect(await verifier.verify('s3cret', hash)).toBe(true)
    expect(scrypt.hashes()).toBe(2)
  })

  it('never remembers a wrong secret, nor a missing account: each costs its scrypt', async () => {
    const hash = cheapHash('s3cret')
    const scrypt = counted()
    const verifier = createSecretVerifier({ check: scrypt.check })
    expect(await verifier.verify('guess', hash)).toBe(false)
    expect(await verifier.verify('guess', hash)).toBe(false)
    expect(await verifier.verify('s3cret', null)).toBe(false)
    expect(await verifier.verify('s3cret', null)).toBe(false)
    expect(scrypt.hashes()).toBe(4)
  })

  it('stops accepting the old secret the moment the stored hash changes (a new password)', async () => {
    const old = cheapHash('old password')
    const renewed = cheapHash('new password')
    const verifier = createSecretVerifier()
    expect(await verifier.verify('old password', old)).toBe(true)
    expect(await verifier.verify('old password', renewed)).toBe(false)
    expect(await verifier.verify('new password', renewed)).toBe(true)
  })

  it('shares one scrypt among concurrent checks of one secret', async () => {
    const hash = cheapHash('robot secret')
    const scrypt = counted()
    const verifier = createSecretVerifier({ check: scrypt.check })
    const results = await Promise.all(Array.from({ length: 10 }, () => verifier.verify('robot secret', hash)))
    expect(results).toEqual(Array(10).fill(true))
    expect(scrypt.hashes()).toBe(1)
  })

  it('remembers at most `max` secrets, forgetting the oldest first', async () => {
    const hashes = await Promise.all(['a', 'b', 'c'].map((s) => cheapHash(s)))
    const scrypt = counted()
    const verifier = createSecretVerifier({ max: 2, check: scrypt.check })
    for (const [i, s] of ['a', 'b', 'c'].entries()) await verifier.verify(s, hashes[i]!)
    expect(scrypt.hashes()).toBe(3)
    await verifier.verify('c', hashes[2]!)
    await verifier.verify('b', hashes[1]!)
    expect(scrypt.hashes()).toBe(3)
    await verifier.verify('a', hashes[0]!) // forgotten: 'a' was the oldest when 'c' came
    expect(scrypt.hashes()).toBe(4)
  })
})
