// The swift driver against a real OpenStack Swift (test/helpers/swift.ts): the shared conformance
// suite with 1 MiB segments (so the 40 MiB test is a 40-segment Static Large Object), then what
// only Swift has: segments and their cleanup, large-object copies, temp URLs, token renewal.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testEngine } from '../conformance.ts'
import { expectBytes, patterned, patternStream, readAll, sha256Of, streamOf } from '../conformance-bytes.ts'
import { startSwift, swiftUnavailable, type RunningSwift } from '../../test/helpers/swift.ts'
import { createSwiftEngine, type SwiftEngineOptions } from './swift.ts'
import { swiftTempUrl } from './swift-temp-url.ts'

const MiB = 1024 * 1024
const TEMP_URL_KEY = 'temp-url-key-for-tests'
const unavailable = swiftUnavailable()
if (unavailable) console.warn(`skipping the swift driver tests: ${unavailable}`)

describe.skipIf(unavailable !== null)('swift driver', () => {
  let swift: RunningSwift
  beforeAll(async () => {
    swift = await startSwift({ containers: ['conformance', 'registry', 'other'], tempUrlKey: TEMP_URL_KEY })
    console.info(`swift started in ${swift.startupMs} ms`)
  }, 90_000)
  afterAll(async () => swift?.stop())

  const engine = (overrides: Partial<SwiftEngineOptions> = {}) => createSwiftEngine({
    location: 'swift-test', container: 'registry', tempUrlKey: TEMP_URL_KEY,
    auth: { version: 1, authUrl: swift.authUrl, user: swift.user, key: swift.key },
    segmentSize: MiB, bufferSize: 256 * 1024,
    ...overrides,
  })

  /** Object names in a container, straight from Swift. */
  async function namesIn(container: string, prefix = ''): Promise<string[]> {
    const res = await fetch(`${swift.storageUrl}/${container}?format=json&prefix=${encodeURIComponent(prefix)}`, { headers: { 'X-Auth-Token': await swift.token() } })
    return res.status === 204 ? [] : (await res.json() as Array<{ name: string }>).map((o) => o.name)
  }

  testEngine('swift (1 MiB segments)', async () => ({
    engine: engine({ container: 'conformance' }),
    // What a process killed between two segments of a large object leaves: segments, no manifest.
    async plantTemporary() {
      const headers = { 'X-Auth-Token': await swift.token() }
      const upload = `planted/${crypto.randomUUID()}`
      for (const [index, size] of [[0, 1000], [1, 24]]) {
        await fetch(`${swift.storageUrl}/conformance_segments/${upload}/${String(index).padStart(8, '0')}`, { method: 'PUT', headers, body: new Uint8Array(size) })
      }
      return { items: 2, bytes: 1024 }
    },
  }))

  describe('large objects', () => {
    it('writes a body past the segment size as segments and a manifest, and reads it whole and in ranges', async () => {
      const e = engine()
      const size = 5 * MiB + 12_345
      expect(await e.put('large/a', patternStream(size, 300_000), { size })).toMatchObject({ size })
      expect(await namesIn('registry_segments', 'large/a/')).toHaveLength(6)
      expect(await e.stat('large/a')).toMatchObject({ size })
      expect(await sha256Of((await e.get('large/a'))!.body)).toEqual(await sha256Of(patternStream(size, MiB)))
      const ranged = await e.get('large/a', { range: { start: MiB - 10, end: 3 * MiB + 10 } })
      expectBytes(await readAll(ranged!.body), patterned(MiB - 10, 2 * MiB + 21))
      expect((await e.list('large/')).keys).toEqual([expect.objectContaining({ key: 'large/a', size })])
    })

    it('keeps a body of unknown size that fits one segment a plain object', async () => {
      const e = engine()
      await e.put('large/one-segment', patternStream(MiB - 1, 64 * 1024))
      expect(await e.stat('large/one-segment')).toMatchObject({ size: MiB - 1 })
      expect(await namesIn('registry_segments', 'large/one-segment/')).toEqual([])
    })

    it("deletes the segments of a failed upload and of a deleted object; an overwritten object's are the sweep's, so its readers finish", async () => {
      const e = engine()
      const gone = new Error('client went away')
      await expect(e.put('large/broken', patternStream(4 * MiB, 100_000, 3 * MiB, gone))).rejects.toBe(gone)
      expect(await namesIn('registry_segments', 'large/broken/')).toEqual([])
      expect(await e.stat('large/broken')).toBeNull()

      await e.put('large/replaced', patternStream(3 * MiB, MiB))
      const first = await namesIn('registry_segments', 'large/replaced/')
      expect(first).toHaveLength(3)
      // A reader of the old object, mid-stream when it is replaced.
      const reading = await midStream((await e.get('large/replaced'))!.body)
      await e.put('large/replaced', patternStream(2 * MiB + 1, MiB))
      expect(await namesIn('registry_segments', 'large/replaced/')).toHaveLength(6)
      expect(await sha256Of(reading)).toEqual(await sha256Of(patternStream(3 * MiB, MiB)))
      // The sweep takes the replaced segments, never the live ones.
      expect((await e.sweepTemporary!(new Date(Date.now() + 86_400_000))).items).toBeGreaterThanOrEqual(3)
      const second = await namesIn('registry_segments', 'large/replaced/')
      expect(second).toHaveLength(3)
      expect(second.filter((name) => first.includes(name))).toEqual([])
      expect(await sha256Of((await e.get('large/replaced'))!.body)).toEqual(await sha256Of(patternStream(2 * MiB + 1, MiB)))

      await e.delete('large/replaced')
      expect(await namesIn('registry_segments', 'large/replaced/')).toEqual([])
      expect(await e.stat('large/replaced')).toBeNull()
      await e.delete('large/replaced')
    })

    it('keeps a blob that already is a large object when the same blob is written again, and drops the new segments', async () => {
      const e = engine()
      const key = `blobs/sha256/ab/${'ab'.repeat(32)}`
      await e.put(key, patternStream(3 * MiB, MiB))
      const first = await namesIn('registry_segments', `${key}/`)
      expect(first).toHaveLength(3)
      const reading = await midStream((await e.get(key))!.body)
      await e.put(key, patternStream(3 * MiB, MiB))
      expect(await namesIn('registry_segments', `${key}/`)).toEqual(first)
      expect(await sha256Of(reading)).toEqual(await sha256Of(patternStream(3 * MiB, MiB)))
      await e.delete(key)
      expect(await namesIn('registry_segments', `${key}/`)).toEqual([])
    })

    it("sweeps no segment a large object's manifest names, even with a cut-off in the future", async () => {
      const e = engine({ container: 'other', prefix: 'sweep' })
      await e.put('kept', patternStream(2 * MiB + 1, MiB))
      expect(await e.sweepTemporary!(new Date(Date.now() + 86_400_000))).toEqual({ items: 0, bytes: 0 })
      expect(await sha256Of((await e.get('kept'))!.body)).toEqual(await sha256Of(patternStream(2 * MiB + 1, MiB)))
    })

    it('copies a large object into an independent one with segments of its own', async () => {
      const e = engine()
      const size = 3 * MiB + 7
      await e.put('large/source', patternStream(size, MiB), { size })
      expect(await e.copy('large/source', 'large/copy')).toMatchObject({ key: 'large/copy', size })
      await e.delete('large/source')
      expect(await namesIn('registry_segments', 'large/source/')).toEqual([])
      expect(await namesIn('registry_segments', 'large/copy/')).toHaveLength(4)
      expect(await sha256Of((await e.get('large/copy'))!.body)).toEqual(await sha256Of(patternStream(size, MiB)))
    })
  })

  describe('server-side copy between locations', () => {
    it('copies plain and large objects from another container of the same account', async () => {
      const from = engine({ location: 'swift-a', container: 'other', prefix: 'a' })
      const to = engine({ location: 'swift-b', prefix: 'b' })
      await from.put('blobs/small', streamOf(new TextEncoder().encode('small')))
      await from.put('blobs/large', patternStream(2 * MiB + 3, MiB))
      for (const [key, size] of [['blobs/small', 5], ['blobs/large', 2 * MiB + 3]] as const) {
        const source = await from.copySource!(key)
        expect(source).toMatchObject({ kind: 'swift', container: 'other', object: `a/${key}` })
        expect(await to.copyFrom!(source!, key, size)).toMatchObject({ key, size })
        expect(await to.stat(key)).toMatchObject({ size })
      }
      expect(await from.copySource!('blobs/missing')).toBeNull()
      expect(await to.copyFrom!({ kind: 'swift', service: 'http://elsewhere/v1/AUTH_x', container: 'other', object: 'a/blobs/small' }, 'x', 5)).toBeNull()
      expect(await to.copyFrom!({ kind: 'url', url: 'http://example.invalid/' }, 'x', 5)).toBeNull()
    })
  })

  describe('temp URLs', () => {
    it('serves the object until the URL expires, and refuses a tampered or expired one', async () => {
      const e = engine()
      await e.put('temp/obj', streamOf(new TextEncoder().encode('temp url bytes')))
      const url = await e.presign('temp/obj', { expiresIn: 60 })
      expect(url).toMatch(/temp_url_sig=[0-9a-f]{64}&temp_url_expires=\d+$/)
      expect(await (await fetch(url!)).text()).toBe('temp url bytes')
      const ranged = await fetch(url!, { headers: { Range: 'bytes=5-7' } })
      expect(ranged.status).toBe(206)
      expect(await ranged.text()).toBe('url')
      expect((await fetch(url!.replace('temp/obj', 'temp/other'))).status).toBe(401)
      const expired = await swiftTempUrl({ storageUrl: swift.storageUrl, objectPath: '/registry/temp/obj', key: TEMP_URL_KEY, expires: Math.floor(Date.now() / 1000) - 1 })
      expect((await fetch(expired)).status).toBe(401)
      expect(await engine({ tempUrlKey: undefined }).presign('temp/obj')).toBeNull()
    })
  })

  describe('without credentials (an edge)', () => {
    it('reads through temp URLs with only the key and the storage URL, and refuses writes', async () => {
      await engine().put('edge/obj', streamOf(new TextEncoder().encode('read through temp URLs')))
      const readOnly = createSwiftEngine({ location: 'edge-swift', container: 'registry', tempUrlKey: TEMP_URL_KEY, storageUrl: swift.storageUrl })
      expect(await readOnly.stat('edge/obj')).toMatchObject({ size: 22 })
      expect(await readOnly.stat('edge/missing')).toBeNull()
      const ranged = await readOnly.get('edge/obj', { range: { start: 5, end: 11 } })
      expect(ranged).toMatchObject({ size: 22, range: { start: 5, end: 11 } })
      expect(new TextDecoder().decode(await readAll(ranged!.body))).toBe('through')
      expect(await readOnly.presign('edge/obj')).toContain('temp_url_sig=')
      await expect(readOnly.put('edge/x', streamOf(new Uint8Array(1)), { size: 1 })).rejects.toMatchObject({ name: 'StorageError', kind: 'denied' })
      await expect(readOnly.list('edge/')).rejects.toMatchObject({ name: 'StorageError', kind: 'denied' })
      const keyless = createSwiftEngine({ location: 'edge-swift', container: 'registry', storageUrl: swift.storageUrl })
      await expect(keyless.stat('edge/obj')).rejects.toMatchObject({ name: 'StorageError', kind: 'denied' })
    })
  })

  describe('authentication', () => {
    it('logs in once, and again after a 401 (a revoked or expired token)', async () => {
      let logins = 0
      let spoil = false
      const counting: typeof fetch = async (input, init) => {
        const url = String(input)
        if (url.endsWith('/auth/v1.0')) logins++
        else if (spoil) {
          spoil = false
          init = { ...init, headers: { ...(init?.headers as Record<string, string>), 'X-Auth-Token': 'AUTH_tkrevoked' } }
        }
        return fetch(input, init)
      }
      const e = engine({ fetch: counting })
      await e.put('auth/a', streamOf(new TextEncoder().encode('a')))
      expect(await e.stat('auth/a')).toMatchObject({ size: 1 })
      expect(logins).toBe(1)
      spoil = true
      expect(await e.stat('auth/a')).toMatchObject({ size: 1 })
      expect(logins).toBe(2)
    })

    it('renews a token before it expires', async () => {
      const short = await startSwift({ containers: ['c'], tokenLifeSeconds: 2 })
      try {
        let logins = 0
        const e = createSwiftEngine({
          location: 'short', container: 'c', auth: { version: 1, authUrl: short.authUrl, user: short.user, key: short.key },
          fetch: async (input, init) => {
            if (String(input).endsWith('/auth/v1.0')) logins++
            return fetch(input, init)
          },
        })
        await e.put('k', streamOf(new TextEncoder().encode('k')))
        await new Promise((resolve) => setTimeout(resolve, 2100))
        expect(await e.stat('k')).toMatchObject({ size: 1 })
        expect(logins).toBe(2)
      } finally {
        await short.stop()
      }
    }, 60_000)

    it("refuses wrong credentials with StorageError 'denied', naming no secret", async () => {
      const e = engine({ auth: { version: 1, authUrl: swift.authUrl, user: swift.user, key: 'wrong-secret-key' } })
      const failure = await e.stat('auth/a').catch((err: unknown) => err)
      expect(failure).toMatchObject({ name: 'StorageError', kind: 'denied' })
      expect(String((failure as Error).message)).not.toContain('wrong-secret-key')
    })

    it("calls a missing container 'unavailable' (the location is misconfigured)", async () => {
      const e = engine({ container: 'no-such-container' })
      expect(await e.stat('x')).toBeNull()
      await expect(e.list('')).rejects.toMatchObject({ name: 'StorageError', kind: 'unavailable' })
      await expect(e.put('x', streamOf(new Uint8Array(3)), { size: 3 })).rejects.toMatchObject({ name: 'StorageError', kind: 'unavailable' })
    })
  })
})

/** A reader mid-stream: its first chunk already read, the rest still to come. */
async function midStream(body: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
  const reader = body.getReader()
  const first = await reader.read()
  let firstSent = false
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!firstSent) {
        firstSent = true
        if (!first.done) return controller.enqueue(first.value)
      }
      const next = await reader.read()
      if (next.done) controller.close()
      else controller.enqueue(next.value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
}
