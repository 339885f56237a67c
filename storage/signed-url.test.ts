import { describe, expect, it } from 'vitest'
import { blobKey } from './keys.ts'
import { createBlobUrlSigner, importSigningKey, parseSignedBlobPath, signBlobUrl, verifyBlobUrl } from './signed-url.ts'
import { MAX_PRESIGN_SECONDS, readPresignSeconds } from './presign-lifetime.ts'

const secret = 'test-signing-key-0123456789abcdef-0123456789'
const digest = `sha256:${'ab'.repeat(32)}`
const key = blobKey(digest)
const now = 1_800_000_000

/** The parts a server reads back from a signed URL. */
function partsOf(url: string) {
  const parsed = new URL(url)
  const target = parseSignedBlobPath(parsed.pathname)!
  return { ...target, expires: parsed.searchParams.get('expires'), signature: parsed.searchParams.get('signature') }
}

async function signed(overrides: Partial<Parameters<typeof signBlobUrl>[0]> = {}) {
  return signBlobUrl({ baseUrl: 'https://disk.example.com/', location: 'eu-west', key, expiresAt: now + 600, secret, ...overrides })
}

describe('signed blob URLs', () => {
  it('names the location and blob key under /_meridian/blobs and verifies as valid', async () => {
    const url = await signed()
    expect(url).toMatch(new RegExp(`^https://disk\\.example\\.com/_meridian/blobs/eu-west/${key}\\?expires=${now + 600}&signature=[A-Za-z0-9_-]{43}$`))
    expect(await verifyBlobUrl({ ...partsOf(url), secret, now })).toBe('valid')
    // The same answer with the key imported once, as a signer keeps it.
    expect(await verifyBlobUrl({ ...partsOf(url), secret: await importSigningKey(secret), now })).toBe('valid')
  })

  it('refuses a URL whose key, location or expiry was changed, or that another key signed', async () => {
    const parts = partsOf(await signed())
    const other = blobKey(`sha256:${'cd'.repeat(32)}`)
    expect(await verifyBlobUrl({ ...parts, key: other, secret, now })).toBe('forged')
    expect(await verifyBlobUrl({ ...parts, location: 'us-east', secret, now })).toBe('forged')
    expect(await verifyBlobUrl({ ...parts, expires: String(now + 6000), secret, now })).toBe('forged')
    expect(await verifyBlobUrl({ ...parts, secret: `${secret}-other`, now })).toBe('forged')
    expect(await verifyBlobUrl({ ...parts, signature: null, secret, now })).toBe('forged')
    expect(await verifyBlobUrl({ ...parts, expires: null, secret, now })).toBe('forged')
    expect(await verifyBlobUrl({ ...parts, signature: `${parts.signature}=`, secret, now })).toBe('forged')
    // A last character with stray low bits decodes to the same bytes: still refused.
    const last = parts.signature!.at(-1)!
    const sibling = parts.signature!.slice(0, -1) + (last === 'A' ? 'B' : String.fromCharCode(last.charCodeAt(0) ^ 1))
    expect(await verifyBlobUrl({ ...parts, signature: sibling, secret, now })).toBe('forged')
  })

  it('refuses an expired URL, and one that claims to live longer than any signer allows', async () => {
    const parts = partsOf(await signed({ expiresAt: now - 1 }))
    expect(await verifyBlobUrl({ ...parts, secret, now })).toBe('expired')
    expect(await verifyBlobUrl({ ...parts, secret, now: now - 1 })).toBe('valid')
    const far = partsOf(await signed({ expiresAt: now + MAX_PRESIGN_SECONDS + 60 }))
    expect(await verifyBlobUrl({ ...far, secret, now })).toBe('expired')
  })

  it('signs only blob keys of a valid location: no traversal, no upload parts, no mismatched fan-out', async () => {
    const refused = [
      '../etc/passwd', 'blobs/../uploads/x', `blobs/sha256/ab/../../../${'ab'.repeat(32)}`, 'uploads/probe/write',
      `blobs/sha256/cd/${'ab'.repeat(32)}`, `blobs/md5/ab/${'ab'.repeat(16)}`, `blobs/sha256/ab/${'AB'.repeat(32)}`,
      `/blobs/sha256/ab/${'ab'.repeat(32)}`, `${key}/`, `blobs/sha256/ab/${'ab'.repeat(32)}%2f..`,
    ]
    for (const bad of refused) {
      await expect(signed({ key: bad }), bad).rejects.toThrow(RangeError)
      expect(await verifyBlobUrl({ location: 'eu-west', key: bad, expires: String(now + 60), signature: 'x', secret, now }), bad).toBe('invalid-target')
    }
    for (const location of ['EU', '../eu', 'eu/west', '']) {
      await expect(signed({ location }), location).rejects.toThrow(RangeError)
    }
    await expect(signed({ key: blobKey(`sha512:${'ef'.repeat(64)}`) })).resolves.toContain('/blobs/sha512/ef/')
  })

  it('refuses signing keys too short to be secret', async () => {
    await expect(importSigningKey('short')).rejects.toThrow(/at least 32/)
  })

  it('signer: the default lifetime, a per-call lifetime, and the bounds', async () => {
    const signer = createBlobUrlSigner({ baseUrl: 'http://127.0.0.1:5000', location: 'ap-south', secret, expiresIn: 1200, now: () => now * 1000 })
    expect(partsOf(await signer.sign(key)).expires).toBe(String(now + 1200))
    expect(partsOf(await signer.sign(key, { expiresIn: 60 })).expires).toBe(String(now + 60))
    await expect(signer.sign(key, { expiresIn: MAX_PRESIGN_SECONDS + 1 })).rejects.toThrow(RangeError)
    await expect(signer.sign(key, { expiresIn: 0 })).rejects.toThrow(RangeError)
  })

  it('reads the lifetime setting: the 20-minute default, whole seconds within bounds', () => {
    expect(readPresignSeconds(undefined)).toBe(1200)
    expect(readPresignSeconds(' ')).toBe(1200)
    expect(readPresignSeconds('600')).toBe(600)
    for (const bad of ['5', '1.5', 'ten', String(MAX_PRESIGN_SECONDS + 1)]) expect(() => readPresignSeconds(bad), bad).toThrow(RangeError)
  })
})
