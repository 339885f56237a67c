import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testEngine } from '../conformance.ts'
import type { StorageEngine } from '../engine.ts'
import { createFsEngine } from './fs.ts'
import { blobKey } from '../keys.ts'

testEngine('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'meridian-fs-'))
  return {
    engine: createFsEngine({ location: 'test-fs', root }),
    teardown: () => rm(root, { recursive: true, force: true }),
    // What two puts killed mid-body leave in `.tmp`.
    async plantTemporary() {
      await mkdir(join(root, '.tmp'), { recursive: true })
      await writeFile(join(root, '.tmp', crypto.randomUUID()), new Uint8Array(1000))
      await writeFile(join(root, '.tmp', crypto.randomUUID()), new Uint8Array(24))
      return { items: 2, bytes: 1024 }
    },
  }
})

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort()
}

function bytes(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text))
      controller.close()
    },
  })
}

describe('fs engine', () => {
  let root: string
  let engine: StorageEngine
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'meridian-fs-'))
    engine = createFsEngine({ location: 'test-fs', root })
  })
  afterAll(() => rm(root, { recursive: true, force: true }))

  it('refuses keys that would escape the root or reach into .tmp', async () => {
    for (const key of ['../outside', 'blobs/../../outside', '/etc/passwd', 'a//b', 'a\\b', '.tmp/x', 'a/./b']) {
      await expect(engine.put(key, bytes('x')), key).rejects.toMatchObject({ name: 'StorageError', kind: 'invalid' })
      await expect(engine.get(key), key).rejects.toMatchObject({ kind: 'invalid' })
      await expect(engine.delete(key), key).rejects.toMatchObject({ kind: 'invalid' })
    }
    expect(await filesUnder(root)).toEqual([])
  })

  it('keeps key k at <root>/k', async () => {
    await engine.put('blobs/sha256/ab/abcd', bytes('layer'))
    expect(await filesUnder(root)).toEqual(['blobs/sha256/ab/abcd'])
    await engine.delete('blobs/sha256/ab/abcd')
  })

  it('leaves no file under blobs/ when a put is interrupted, and cleans its temp file', async () => {
    let sent = 0
    const interrupted = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ === 5) return controller.error(new Error('connection reset'))
        controller.enqueue(new Uint8Array(512 * 1024).fill(sent))
      },
    })
    await expect(engine.put('blobs/sha256/cd/cdef', interrupted)).rejects.toThrow('connection reset')
    const left = await filesUnder(root)
    expect(left.filter((path) => !path.startsWith('.tmp/'))).toEqual([])
    expect(left).toEqual([])
  })

  it('prunes directories left empty by a delete, and lists nothing from .tmp', async () => {
    await engine.put('uploads/0f2b4f4e-7d2a-4c8e-9a52-3a7f0f3a1b2c/00000000', bytes('part'))
    await writeFile(join(root, '.tmp', 'stray'), 'temp')
    expect((await engine.list('')).keys.map((o) => o.key)).toEqual(['uploads/0f2b4f4e-7d2a-4c8e-9a52-3a7f0f3a1b2c/00000000'])
    await engine.delete('uploads/0f2b4f4e-7d2a-4c8e-9a52-3a7f0f3a1b2c/00000000')
    await rm(join(root, '.tmp', 'stray'))
    // The session's directory goes; the top-level folders stay (every write passes through them,
    // and pruning them raced concurrent writes making their way down).
    expect(await readdir(join(root, 'uploads'))).toEqual([])
    expect(await readdir(root)).toContain('.tmp')
  })

  it("orders keys as S3 does, byte by byte: 'a-c' < 'a/b' < 'a0'", async () => {
    for (const key of ['order/a0', 'order/a/b', 'order/a-c']) await engine.put(key, bytes(key))
    expect((await engine.list('order/')).keys.map((o) => o.key)).toEqual(['order/a-c', 'order/a/b', 'order/a0'])
    const first = await engine.list('order/', { limit: 1 })
    expect((await engine.list('order/', { limit: 5, cursor: first.cursor! })).keys.map((o) => o.key)).toEqual(['order/a/b', 'order/a0'])
  })

  it('sweeps a temp file only when both its ctime and mtime are before the cut-off', async () => {
    const tmp = join(root, '.tmp')
    await mkdir(tmp, { recursive: true })
    const now = Date.now()
    // ctime cannot be set back, so the cut-offs sit around now: one a minute ago, one in a day.
    const plant = async (name: string, size: number, mtime: number) => {
      await writeFile(join(tmp, name), new Uint8Array(size))
      await utimes(join(tmp, name), mtime / 1000, mtime / 1000)
    }
    await plant('fresh', 100, now)
    await plant('old-mtime', 30, 0) // a copy's link keeps the source's mtime; its ctime is now
    await plant('future-mtime', 7, now + 2 * 86_400_000)
    expect(await engine.sweepTemporary!(new Date(now - 60_000))).toEqual({ items: 0, bytes: 0 })
    expect(await engine.sweepTemporary!(new Date(now + 86_400_000), { dryRun: true })).toEqual({ items: 2, bytes: 130 })
    expect((await readdir(tmp)).sort()).toEqual(['fresh', 'future-mtime', 'old-mtime'])
    expect(await engine.sweepTemporary!(new Date(now + 86_400_000))).toEqual({ items: 2, bytes: 130 })
    expect(await readdir(tmp)).toEqual(['future-mtime'])
    await rm(join(tmp, 'future-mtime'))
  })

  it('answers null for a key that names a directory', async () => {
    await engine.put('dir/inner', bytes('x'))
    expect(await engine.stat('dir')).toBeNull()
    expect(await engine.get('dir')).toBeNull()
    await engine.delete('dir')
    expect(await engine.stat('dir/inner')).toMatchObject({ size: 1 })
  })
})

describe('fs engine presign', () => {
  const digest = `sha256:${'9f'.repeat(32)}`
  const secret = 'fs-presign-test-key-0123456789abcdef'

  it('has no presign without a public URL and a signing key: edges stream its bytes', () => {
    expect(createFsEngine({ location: 'plain', root: '/nonexistent' }).presign).toBeUndefined()
  })

  it('signs blob keys under the public URL without touching the disk; other keys get no URL', async () => {
    const engine = createFsEngine({ location: 'disk-eu', root: '/nonexistent/never-created', signedUrls: { publicUrl: 'https://eu.example.com', secret, expiresIn: 600 } })
    const before = Math.floor(Date.now() / 1000)
    const url = new URL((await engine.presign!(blobKey(digest)))!)
    expect(`${url.origin}${url.pathname}`).toBe(`https://eu.example.com/_meridian/blobs/disk-eu/${blobKey(digest)}`)
    expect(Number(url.searchParams.get('expires')) - before).toBeGreaterThanOrEqual(600)
    expect(Number(url.searchParams.get('expires')) - before).toBeLessThanOrEqual(601)
    const short = new URL((await engine.presign!(blobKey(digest), { expiresIn: 30 }))!)
    expect(Number(short.searchParams.get('expires')) - before).toBeLessThanOrEqual(31)
    expect(await engine.presign!('uploads/probe/write')).toBeNull()
    await expect(engine.presign!('../blobs/x')).rejects.toMatchObject({ name: 'StorageError', kind: 'invalid' })
  })
})
