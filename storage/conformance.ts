// The one suite every driver runs (as distribution's storagedriver testsuites and unstorage's
// testDriver): the StorageEngine contract of storage/engine.ts, stated as behaviour. A driver is
// done when `testEngine('name', setup)` passes against a real backend on loopback. Portable.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StorageError } from './engine.ts'
import type { StorageEngine, SweepResult } from './engine.ts'
import { verifyingStream } from '../oci/digest.ts'
import { OciError } from '../oci/errors.ts'
import { createPortableHasher } from '../oci/hasher-portable.ts'
import { expectBytes, patterned, patternStream, readAll, sha256Of, streamOf } from './conformance-bytes.ts'

const MiB = 1024 * 1024

const text = (value: string) => new TextEncoder().encode(value)
const filled = (length: number, byte: number) => new Uint8Array(length).fill(byte)
const storageError = (kind: string) => expect.objectContaining({ name: 'StorageError', kind })

export interface EngineUnderTest {
  engine: StorageEngine
  teardown?: () => Promise<void>
  /**
   * Leaves in the engine's scratch space what interrupted writes leave (fs: files in `.tmp/`) and
   * returns what a sweep must count for it, so the sweep check can assert exact figures. Drivers
   * whose scratch space a test cannot fill (s3rver lists no multipart uploads) leave it out and
   * test their sweep in their own file.
   */
  plantTemporary?: () => Promise<SweepResult>
}

export function testEngine(name: string, setup: () => Promise<EngineUnderTest>): void {
  describe(`StorageEngine conformance: ${name}`, () => {
    let engine: StorageEngine
    let teardown: (() => Promise<void>) | undefined
    let plantTemporary: EngineUnderTest['plantTemporary']
    // A fresh namespace per run, so a shared bucket or directory never leaks between runs.
    const base = `conformance/${crypto.randomUUID()}`
    const k = (suffix: string) => `${base}/${suffix}`

    beforeAll(async () => {
      ;({ engine, teardown, plantTemporary } = await setup())
    }, 30_000)
    afterAll(async () => {
      await engine?.close?.()
      await teardown?.()
    }, 30_000)

    async function bytesAt(key: string): Promise<Uint8Array | null> {
      const got = await engine.get(key)
      return got ? readAll(got.body) : null
    }

    it('stores bytes and reads them back with their size', async () => {
      const info = await engine.put(k('round-trip'), streamOf(text('hello, '), text('world')))
      expect(info).toMatchObject({ key: k('round-trip'), size: 12 })
      expect(await engine.stat(k('round-trip'))).toMatchObject({ key: k('round-trip'), size: 12 })
      const got = await engine.get(k('round-trip'))
      expect(got?.size).toBe(12)
      expect(got?.range).toBeUndefined()
      expect(new TextDecoder().decode(await readAll(got!.body))).toBe('hello, world')
    })

    it('stores an empty object', async () => {
      expect(await engine.put(k('empty'), streamOf())).toMatchObject({ size: 0 })
      expect(await engine.stat(k('empty'))).toMatchObject({ size: 0 })
      expect(await bytesAt(k('empty'))).toEqual(new Uint8Array(0))
      await expect(engine.get(k('empty'), { range: { start: 0, end: 0 } })).rejects.toEqual(storageError('invalid'))
    })

    it('answers null from stat and get for a missing key', async () => {
      expect(await engine.stat(k('missing'))).toBeNull()
      expect(await engine.get(k('missing'))).toBeNull()
      expect(await engine.get(k('missing'), { range: { start: 0, end: 9 } })).toBeNull()
    })

    it('serves inclusive byte ranges: first byte, middle, last byte, whole object', async () => {
      const size = 300_001
      await engine.put(k('ranges'), patternStream(size, 64 * 1024), { size })
      for (const [start, end] of [[0, 0], [1000, 1999], [size - 1, size - 1], [0, size - 1], [65_530, 131_080]]) {
        const got = await engine.get(k('ranges'), { range: { start, end } })
        expect(got).toMatchObject({ size, range: { start, end } })
        expectBytes(await readAll(got!.body), patterned(start, end - start + 1))
      }
    })

    it('clamps a range that runs past the end, as HTTP does', async () => {
      await engine.put(k('clamp'), streamOf(patterned(0, 100)))
      const got = await engine.get(k('clamp'), { range: { start: 90, end: 500 } })
      expect(got).toMatchObject({ size: 100, range: { start: 90, end: 99 } })
      expectBytes(await readAll(got!.body), patterned(90, 10))
    })

    it("rejects a range that starts past the end with StorageError 'invalid'", async () => {
      await engine.put(k('past-end'), streamOf(patterned(0, 100)))
      await expect(engine.get(k('past-end'), { range: { start: 100, end: 100 } })).rejects.toEqual(storageError('invalid'))
      await expect(engine.get(k('past-end'), { range: { start: 5000, end: 6000 } })).rejects.toBeInstanceOf(StorageError)
    })

    it('overwrites atomically: readers see the whole old object until the whole new one lands', async () => {
      const key = k('overwrite')
      await engine.put(key, streamOf(filled(MiB, 0x61)))
      let release!: () => void
      let started!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      const reading = new Promise<void>((resolve) => (started = resolve))
      let pulls = 0
      const slow = new ReadableStream<Uint8Array>({
        async pull(controller) {
          pulls++
          if (pulls === 1) return controller.enqueue(filled(MiB, 0x62))
          started()
          await gate
          if (pulls === 2) return controller.enqueue(filled(MiB, 0x62))
          controller.close()
        },
      }, { highWaterMark: 0 })
      const writing = engine.put(key, slow)
      await reading
      expectBytes(await bytesAt(key), filled(MiB, 0x61))
      release()
      expect(await writing).toMatchObject({ size: 2 * MiB })
      expectBytes(await bytesAt(key), filled(2 * MiB, 0x62))
      await engine.put(key, streamOf(filled(2 * MiB, 0x62)))
      expect(await engine.stat(key)).toMatchObject({ size: 2 * MiB })
    })

    it('leaves nothing when the body fails verification, and rethrows the OciError unchanged', async () => {
      const key = k('bad-digest')
      const wrong = `sha256:${'0'.repeat(64)}`
      const body = patternStream(9 * MiB, MiB).pipeThrough(verifyingStream({ digest: wrong }, createPortableHasher))
      const failure = await engine.put(key, body).catch((err: unknown) => err)
      expect(failure).toBeInstanceOf(OciError)
      expect(failure).toMatchObject({ code: 'DIGEST_INVALID' })
      expect(await engine.stat(key)).toBeNull()
      expect(await engine.get(key)).toBeNull()
      expect((await engine.list(key)).keys).toEqual([])
    }, 60_000)

    it('leaves nothing when the body errors midway, and rethrows that very error', async () => {
      const key = k('broken-body')
      const gone = new Error('client went away')
      await expect(engine.put(key, patternStream(40 * MiB, MiB + 7, 17 * MiB, gone))).rejects.toBe(gone)
      expect(await engine.stat(key)).toBeNull()
      expect((await engine.list(key)).keys).toEqual([])
    }, 60_000)

    it('accepts a put with or without a declared size, and refuses a body of another length', async () => {
      expect(await engine.put(k('sized'), streamOf(text('12345')), { size: 5 })).toMatchObject({ size: 5 })
      expect(await engine.put(k('unsized'), streamOf(text('12345')))).toMatchObject({ size: 5 })
      await expect(engine.put(k('too-short'), streamOf(text('1234')), { size: 5 })).rejects.toEqual(storageError('invalid'))
      await expect(engine.put(k('too-long'), streamOf(text('123456')), { size: 5 })).rejects.toEqual(storageError('invalid'))
      expect(await engine.stat(k('too-short'))).toBeNull()
      expect(await engine.stat(k('too-long'))).toBeNull()
    })

    it("stops a put when its signal aborts, with StorageError 'aborted', storing nothing", async () => {
      const controller = new AbortController()
      const endless = new ReadableStream<Uint8Array>({
        pull(stream) {
          stream.enqueue(filled(64 * 1024, 1))
          controller.abort()
        },
      }, { highWaterMark: 0 })
      await expect(engine.put(k('aborted'), endless, { signal: controller.signal })).rejects.toEqual(storageError('aborted'))
      expect(await engine.stat(k('aborted'))).toBeNull()
    })

    it('deletes idempotently', async () => {
      await engine.put(k('delete-me'), streamOf(text('x')))
      await engine.delete(k('delete-me'))
      expect(await engine.stat(k('delete-me'))).toBeNull()
      await engine.delete(k('delete-me'))
      await engine.delete(k('never-was'))
    })

    it('lists keys under a prefix in lexical order, a page at a time', async () => {
      const names = ['c', 'a/2', 'bb', 'a/10', 'b', 'a/1', 'b0']
      for (const name of names) await engine.put(k(`list/${name}`), streamOf(text(name)))
      await engine.put(k('listx'), streamOf(text('outside')))
      const expected = [...names].sort().map((name) => k(`list/${name}`))
      const all = await engine.list(k('list/'))
      expect(all.keys.map((o) => o.key)).toEqual(expected)
      expect(all.keys.find((o) => o.key === k('list/a/10'))?.size).toBe(4)
      expect(all.cursor).toBeNull()
      expect((await engine.list(k('list/'), { limit: names.length })).cursor).toBeNull()
      expect((await engine.list(k('list/a/1'))).keys.map((o) => o.key)).toEqual([k('list/a/1'), k('list/a/10')])
      const paged: string[] = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = await engine.list(k('list/'), { limit: 3, cursor })
        paged.push(...page.keys.map((o) => o.key))
        cursor = page.cursor ?? undefined
        pages++
      } while (cursor !== undefined && pages < 10)
      expect(paged).toEqual(expected)
      expect(pages).toBe(3)
      expect((await engine.list(k('nothing-here/'))).keys).toEqual([])
    })

    it('streams a 40 MiB object in and out chunk by chunk, never whole', async () => {
      const size = 40 * MiB
      const key = k('large')
      const expected = await sha256Of(patternStream(size, MiB + 123))
      expect(await engine.put(key, patternStream(size, MiB + 123))).toMatchObject({ size })
      expect(await engine.stat(key)).toMatchObject({ size })
      const got = await engine.get(key)
      expect(got?.size).toBe(size)
      expect(await sha256Of(got!.body)).toEqual(expected)
      // Across the boundaries where multipart drivers cut parts (8 MiB and 5 MiB are common).
      for (const start of [8 * MiB - 100, 5 * MiB - 100, size - 50]) {
        const end = Math.min(size - 1, start + 199)
        const ranged = await engine.get(key, { range: { start, end } })
        expectBytes(await readAll(ranged!.body), patterned(start, end - start + 1))
      }
      await engine.delete(key)
    }, 120_000)

    it('ends concurrent puts of one key with one whole object', async () => {
      const key = k('race')
      const size = 256 * 1024
      const chunks = (byte: number) => Array.from({ length: 4 }, () => filled(size / 4, byte))
      await Promise.all([0x41, 0x42, 0x43, 0x44, 0x45, 0x46].map((byte) => engine.put(key, streamOf(...chunks(byte)), { size })))
      const bytes = await bytesAt(key)
      expect(bytes?.byteLength).toBe(size)
      expect(bytes!.every((b) => b === bytes![0])).toBe(true)
    })

    it('presigns a URL that serves the object, and one that serves a range', async (context) => {
      if (!engine.presign) return context.skip()
      await engine.put(k('presign'), streamOf(text('hello presigned world')))
      const url = await engine.presign(k('presign'), { expiresIn: 60 })
      if (url === null) return context.skip()
      const response = await fetch(url)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe('hello presigned world')
      const ranged = await engine.presign(k('presign'), { range: { start: 6, end: 14 } })
      const partial = await fetch(ranged!, { headers: { Range: 'bytes=6-14' } })
      expect(partial.status).toBe(206)
      expect(await partial.text()).toBe('presigned')
    })

    it('copies server-side into an independent object, or answers null for a missing source', async (context) => {
      if (!engine.copy) return context.skip()
      await engine.put(k('copy/from'), streamOf(text('original')))
      await engine.put(k('copy/to'), streamOf(text('to be replaced')))
      const copied = await engine.copy(k('copy/from'), k('copy/to'))
      if (copied === null) return context.skip()
      expect(copied).toMatchObject({ key: k('copy/to'), size: 8 })
      expect(new TextDecoder().decode((await bytesAt(k('copy/to')))!)).toBe('original')
      // Overwriting the source must not change the copy (hard links, shared buffers).
      await engine.put(k('copy/from'), streamOf(text('changed')))
      expect(new TextDecoder().decode((await bytesAt(k('copy/to')))!)).toBe('original')
      expect(await engine.copy(k('copy/to'), k('copy/to'))).toMatchObject({ size: 8 })
      expect(await engine.copy(k('copy/missing'), k('copy/elsewhere'))).toBeNull()
      expect(await engine.stat(k('copy/elsewhere'))).toBeNull()
    })

    it('sweeps exactly the temporary space a dry run counts, and no object, even with a cut-off in the future', async (context) => {
      if (!engine.sweepTemporary) return context.skip()
      await engine.put(k('swept/kept'), streamOf(text('still here')))
      const future = new Date(Date.now() + 86_400_000)
      // Whatever earlier tests left goes first, so the figures below are exact.
      await engine.sweepTemporary(future)
      const planted = await plantTemporary?.() ?? { items: 0, bytes: 0 }
      expect(await engine.sweepTemporary(future, { dryRun: true })).toEqual(planted)
      expect(await engine.sweepTemporary(future)).toEqual(planted)
      // Gone for real: a second pass finds nothing.
      expect(await engine.sweepTemporary(future)).toEqual({ items: 0, bytes: 0 })
      expect(new TextDecoder().decode((await bytesAt(k('swept/kept')))!)).toBe('still here')
    })
  })
}
