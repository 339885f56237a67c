import { describe, expect, it } from 'vitest'
import { hashSecret, newPassword, newRobotSecret, verifySecret } from './passwords.ts'

describe('account secrets', () => {
  it('stores scrypt N=2^15 r=8 p=1 with a 16-byte salt, never the secret itself', async () => {
    const hash = await hashSecret('correct horse')
    const [name, n, r, p, salt, digest] = hash.split('$')
    expect([name, n, r, p]).toEqual(['scrypt', '32768', '8', '1'])
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16)
    expect(Buffer.from(digest!, 'base64')).toHaveLength(32)
    expect(hash).not.toContain('correct horse')
    expect(await hashSecret('correct horse')).not.toBe(hash) // salted
  })

  it('verifies the right secret and refuses a wrong one', async () => {
    const hash = await hashSecret('s3cret')
    expect(await verifySecret('s3cret', hash)).toBe(true)
    expect(await verifySecret('s3cret ', hash)).toBe(false)
    expect(await verifySecret('', hash)).toBe(false)
  })

  it('spends a full hash for a missing account, so its absence is not visible in the time taken', async () => {
    const hash = await hashSecret('x')
    const time = async (h: string | null) => {
      const start = performance.now()
      expect(await verifySecret('guess', h)).toBe(false)
      return performance.now() - start
    }
    await time(hash) // warm up
    const missing = await time(null)
    const wrong = await time(hash)
    // The same scrypt cost both ways (tens of ms); far from the microseconds of an early return.
    expect(missing).toBeGreaterThan(wrong / 4)
    expect(wrong).toBeGreaterThan(missing / 4)
  })

  it('refuses a malformed or absurdly expensive stored hash without throwing', async () => {
    expect(await verifySecret('x', 'plain')).toBe(false)
    expect(await verifySecret('x', 'scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')).toBe(false)
  })

  it('makes robot secrets of 32 random bytes and passwords of 24, base64url', () => {
    const secret = newRobotSecret()
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(newRobotSecret()).not.toBe(secret)
    expect(newPassword()).toMatch(/^[A-Za-z0-9_-]{32}$/)
  })
})
