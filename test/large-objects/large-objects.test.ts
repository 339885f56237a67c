// Large objects on every engine (issue #10), a slow test: MERIDIAN_SLOW_TESTS=1 runs it, npm test
// skips it. A blob of MERIDIAN_LARGE_OBJECT_GIB GiB (2 by default) made on the fly goes through
// put, a whole and ranged get, a server-side copy (or the streamed copy a caller falls back to)
// and delete on fs, S3 (s3rver), Azure (azurite, on disk) and Swift (1 GiB segments, so a large
// object of three segments), with this process's RSS sampled: it must stay flat, far below the
// blob's size, whatever the engine.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StorageEngine } from '../../storage/engine.ts'
import { createFsEngine } from '../../storage/drivers/fs.ts'
import { createS3Engine } from '../../storage/drivers/s3.ts'
import { createAzureEngine } from '../../storage/drivers/azure.ts'
import { createSwiftEngine } from '../../storage/drivers/swift.ts'
import { startS3rver, S3RVER_CLIENT } from '../helpers/s3rver.ts'
import { startAzurite } from '../helpers/azurite.ts'
import { startSwift, swiftUnavailable } from '../helpers/swift.ts'
import { digestOf, largeBlob, sampleRss, type LargeBlob, type RssSample } from './large-blob.ts'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const SLOW = process.env.MERIDIAN_SLOW_TESTS === '1'
// An odd size, so the last chunk, part, block and segment are partial.
const SIZE = Math.round(Number(process.env.MERIDIAN_LARGE_OBJECT_GIB ?? 2) * GiB) + 12_345
/** What a put, get or copy may add to RSS: a few parts in flight and the collector's slack. */
const RSS_GROWTH_LIMIT = 256 * MiB
const TIMEOUT = 30 * 60_000

interface EngineSetup {
  engine: StorageEngine
  stop(): Promise<void>
  /** Anything left in the engine's own places after both objects were deleted. */
  leftovers?(): Promise<string[]>
}

const mib = (bytes: number) => `${Math.round(bytes / MiB)} MiB`

function expectFlat(name: string, step: string, rss: RssSample, ms: number): void {
  const growth = rss.peak - rss.start
  console.info(`${name}: ${step} of ${(SIZE / GiB).toFixed(2)} GiB in ${(ms / 1000).toFixed(1)} s, RSS ${mib(rss.start)} → peak ${mib(rss.peak)} (+${mib(growth)})`)
  expect(growth, `${name} ${step}: RSS grew by ${mib(growth)}`).toBeLessThan(RSS_GROWTH_LIMIT)
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; rss: RssSample; ms: number }> {
  const started = performance.now()
  const { result, rss } = await sampleRss(work)
  return { result, rss, ms: performance.now() - started }
}

function testLargeObject(name: string, setup: () => Promise<EngineSetup>, skip: string | null = null): void {
  describe.skipIf(!SLOW || skip !== null)(`a ${(SIZE / GiB).toFixed(1)} GiB object on ${name}`, () => {
    let blob: LargeBlob
    let expected: string
    let s: EngineSetup
    beforeAll(async () => {
      blob = largeBlob(SIZE)
      expected = blob.digest()
      s = await setup()
    }, 120_000)
    afterAll(async () => s?.stop(), 120_000)

    it('streams through put, ranged get, server-side copy and delete with flat memory', async () => {
      const { engine } = s
      const key = `blobs/large/${crypto.randomUUID()}`
      const copyKey = `${key}-copy`

      const put = await timed(() => engine.put(key, blob.stream(), { size: SIZE }))
      expect(put.result).toMatchObject({ key, size: SIZE })
      expectFlat(name, 'put', put.rss, put.ms)
      expect(await engine.stat(key)).toMatchObject({ size: SIZE })

      const read = await timed(async () => digestOf((await engine.get(key))!.body))
      expect(read.result).toEqual({ digest: expected, size: SIZE })
      expectFlat(name, 'get', read.rss, read.ms)

      // First bytes, across the 1 GiB mark (a Swift segment boundary here), the last bytes.
      const middle = Math.min(GiB, Math.floor(SIZE / 2))
      for (const [start, length] of [[0, MiB + 10], [middle - 100, 200], [SIZE - 100, 100]]) {
        const ranged = await engine.get(key, { range: { start, end: start + length - 1 } })
        expect(ranged?.range).toEqual({ start, end: start + length - 1 })
        const got = new Uint8Array(await new Response(ranged!.body).arrayBuffer())
        expect(Buffer.compare(got, blob.bytesAt(start, length)), `bytes ${start}+${length}`).toBe(0)
      }

      // Server-side when the engine can; otherwise the streamed copy the caller falls back to.
      const copy = await timed(async () => {
        const copied = await engine.copy?.(key, copyKey) ?? null
        if (copied) return 'server-side'
        const source = await engine.get(key)
        await engine.put(copyKey, source!.body, { size: SIZE })
        return 'streamed'
      })
      expectFlat(name, `copy (${copy.result})`, copy.rss, copy.ms)
      const copied = await timed(async () => digestOf((await engine.get(copyKey))!.body))
      expect(copied.result).toEqual({ digest: expected, size: SIZE })

      await engine.delete(key)
      await engine.delete(copyKey)
      expect(await engine.stat(key)).toBeNull()
      expect(await engine.stat(copyKey)).toBeNull()
      expect(await s.leftovers?.() ?? []).toEqual([])
    }, TIMEOUT)
  })
}

testLargeObject('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'meridian-large-fs-'))
  return { engine: createFsEngine({ location: 'large-fs', root }), stop: () => rm(root, { recursive: true, force: true }) }
})

testLargeObject('s3 (s3rver)', async () => {
  const s3 = await startS3rver({ buckets: ['large'] })
  const engine = createS3Engine({ location: 'large-s3', bucket: 'large', endpoint: s3.endpoint, ...S3RVER_CLIENT })
  return { engine, stop: async () => { await engine.close?.(); await s3.stop() } }
})

testLargeObject('azure (azurite)', async () => {
  const azurite = await startAzurite({ containers: ['large'], onDisk: true })
  const engine = createAzureEngine({ location: 'large-azure', container: 'large', connectionString: azurite.connectionString })
  return { engine, stop: () => azurite.stop() }
})

testLargeObject('swift', async () => {
  const swift = await startSwift({ containers: ['large'] })
  const engine = createSwiftEngine({
    location: 'large-swift', container: 'large', segmentSize: GiB,
    auth: { version: 1, authUrl: swift.authUrl, user: swift.user, key: swift.key },
  })
  return {
    engine,
    stop: () => swift.stop(),
    async leftovers() {
      const res = await fetch(`${swift.storageUrl}/large_segments?format=json`, { headers: { 'X-Auth-Token': await swift.token() } })
      return res.status === 204 ? [] : (await res.json() as Array<{ name: string }>).map((o) => o.name)
    },
  }
}, swiftUnavailable())
