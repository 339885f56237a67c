// The URL lifetime setting (origin.presignSeconds) reaches every driver that presigns; a caller's
// own expiresIn still wins. Signing is offline for S3, Azure and Swift: no service is contacted.

import { describe, expect, it } from 'vitest'
import { createEngine } from './engines.ts'
import type { LocationConfig } from './config/types.ts'

const base = { lat: 0, lon: 0, replicateByDefault: false, serve: 'redirect', readOnly: false } as const
// Azurite's published development key: a well-formed shared key that guards nothing.
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
const KEY = `blobs/sha256/ab/${'ab'.repeat(32)}`

const s3: LocationConfig = { ...base, id: 's3-loc', driver: 's3', params: { bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true, accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }
const azure: LocationConfig = { ...base, id: 'az-loc', driver: 'azure', params: { container: 'c', accountName: 'devstoreaccount1', accountKey: AZURITE_KEY, endpoint: 'http://127.0.0.1:9/devstoreaccount1' } }
// A storage URL in the params: temp URLs are signed without logging in.
const swift: LocationConfig = { ...base, id: 'swift-loc', driver: 'swift', params: { container: 'c', authUrl: 'http://127.0.0.1:9/auth/v1.0', authVersion: 1, user: 'a:b', password: 'p', storageUrl: 'http://127.0.0.1:9/v1/AUTH_a', tempUrlKey: 'k' } }
const disk: LocationConfig = { ...base, id: 'disk', driver: 'fs', params: { root: '/nonexistent/disk', publicUrl: 'https://disk.example.com' } }

/** Seconds from now until the URL's expiry, as each store writes it. */
function lifetimeOf(url: string): number {
  const q = new URL(url).searchParams
  if (q.has('X-Amz-Expires')) return Number(q.get('X-Amz-Expires'))
  if (q.has('temp_url_expires')) return Number(q.get('temp_url_expires')) - Math.floor(Date.now() / 1000)
  if (q.has('se')) return Math.round((Date.parse(q.get('se')!) - Date.now()) / 1000)
  return Number(q.get('expires')) - Math.floor(Date.now() / 1000)
}

describe('presigned URL lifetime', () => {
  it.each([s3, azure, swift, disk])('$driver: origin.presignSeconds by default, the caller\'s expiresIn when given', async (location) => {
    const engine = createEngine(location, { presignSeconds: 1200, urlSigningKey: 'k'.repeat(32) })
    expect(Math.abs(lifetimeOf((await engine.presign!(KEY))!) - 1200)).toBeLessThanOrEqual(2)
    expect(Math.abs(lifetimeOf((await engine.presign!(KEY, { expiresIn: 90 }))!) - 90)).toBeLessThanOrEqual(2)
    await engine.close?.()
  })

  it('refuses to build a disk location with a public URL but no signing key', () => {
    expect(() => createEngine(disk, {})).toThrow(/URL signing key/)
  })
})
