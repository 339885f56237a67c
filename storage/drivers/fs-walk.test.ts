// Paged listing of an fs location (fs-walk.ts): the walk a page stopped in goes on for the next
// page, so a pass reads each directory once instead of once per page, with the same keys in the
// same order as walking afresh; a walk nobody continues is dropped and the next page walks afresh.

import type { Dirent } from 'node:fs'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createKeyWalks, IDLE_MS } from './fs-walk.ts'
import { createFsEngine } from './fs.ts'

let root: string
beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'meridian-walk-')) })
afterEach(() => { rmSync(root, { recursive: true, force: true }) })

/** `count` blob-like keys over `fanout` directories, as blobs/<2 hex>/<name>. */
function writeKeys(count: number, fanout: number): string[] {
  const keys: string[] = []
  for (let i = 0; i < count; i++) {
    const key = `blobs/${(i % fanout).toString(16).padStart(2, '0')}/${i.toString(16).padStart(8, '0')}`
    mkdirSync(dirname(join(root, key)), { recursive: true })
    writeFileSync(join(root, key), '')
    keys.push(key)
  }
  return keys.sort()
}

function counted() {
  let reads = 0
  return { read: (path: string): Promise<Dirent[]> => { reads++; return readdir(path, { withFileTypes: true }) }, reads: () => reads }
}

async function listAll(walks: ReturnType<typeof createKeyWalks>, limit: number): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = []
  let cursor: string | undefined
  let pages = 0
  for (;;) {
    const page = await walks.page(join(root, 'blobs/'), 'blobs/', 'blobs/', cursor, limit)
    pages++
    keys.push(...page.keys)
    if (!page.more) return { keys, pages }
    cursor = page.keys.at(-1)
  }
}

describe('paged fs listing', () => {
  it('reads each directory once over a whole pass, with every key in order', async () => {
    const expected = writeKeys(600, 4)
    const io = counted()
    const { keys, pages } = await listAll(createKeyWalks({ skip: () => false, read: io.read }), 25)
    expect(keys).toEqual(expected)
    expect(pages).toBe(24)
    // blobs/ and its 4 fan-out directories: 5 reads, where walking afresh per page read ~24 × 2.
    expect(io.reads()).toBe(5)
  })

  it('walks afresh, to the same keys, from a cursor it did not keep or has dropped', async () => {
    const expected = writeKeys(200, 2)
    let t = 0
    const io = counted()
    const walks = createKeyWalks({ skip: () => false, read: io.read, now: () => t })
    const first = await walks.page(join(root, 'blobs/'), 'blobs/', 'blobs/', undefined, 50)
    t += IDLE_MS + 1
    const second = await walks.page(join(root, 'blobs/'), 'blobs/', 'blobs/', first.keys.at(-1), 50)
    // blobs/ and blobs/00/ twice (the kept walk was dropped), then blobs/01/ for the key past the page.
    expect(io.reads()).toBe(5)
    // A cursor from another process (a fresh walker) continues where the page ended.
    const other = createKeyWalks({ skip: () => false, read: counted().read })
    const third = await other.page(join(root, 'blobs/'), 'blobs/', 'blobs/', second.keys.at(-1), 200)
    expect([...first.keys, ...second.keys, ...third.keys]).toEqual(expected)
    expect(third.more).toBe(false)
  })

  it('drops a kept walk after IDLE_MS even when no other listing comes (a pass stopped half-way)', async () => {
    writeKeys(100, 1)
    const io = counted()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      // The clock the lazy check reads never moves: only the timer can drop the walk.
      const walks = createKeyWalks({ skip: () => false, read: io.read, now: () => 0 })
      const first = await walks.page(join(root, 'blobs/'), 'blobs/', 'blobs/', undefined, 10)
      vi.advanceTimersByTime(IDLE_MS + 1)
      const before = io.reads()
      await walks.page(join(root, 'blobs/'), 'blobs/', 'blobs/', first.keys.at(-1), 10)
      expect(io.reads() - before).toBe(2) // walked afresh
    } finally {
      vi.useRealTimers()
    }
  })

  it('keeps a bounded number of walks: listings abandoned half-way do not pile up', async () => {
    const expected = writeKeys(100, 1)
    const io = counted()
    const walks = createKeyWalks({ skip: () => false, read: io.read })
    const firstPage = await walks.page(join(root, 'blobs/'), 'blobs/', 'blobs/', undefined, 10)
    // Twenty listings started and abandoned after their first page push the first one out.
    for (let i = 0; i < 20; i++) await walks.page(join(root, 'blobs/'), 'blobs/', 'blobs/', expected[i * 3], 10)
    const before = io.reads()
    const rest = await walks.page(join(root, 'blobs/'), 'blobs/', 'blobs/', firstPage.keys.at(-1), 100)
    expect(io.reads() - before).toBe(2) // walked afresh: its walk was no longer kept
    expect([...firstPage.keys, ...rest.keys]).toEqual(expected)
  })
})

describe('the fs engine lists through kept walks', () => {
  it('pages a location to the same keys as one page, and leaves out keys deleted meanwhile', async () => {
    const engine = createFsEngine({ location: 'walk', root })
    const digests = Array.from({ length: 40 }, (_, i) => `blobs/sha256/${(i % 3).toString(16).padStart(2, '0')}/${i}`)
    for (const key of digests) await engine.put(key, new Response(key).body!)
    const whole = (await engine.list('blobs/', { limit: 1000 })).keys.map((k) => k.key)
    expect(whole).toHaveLength(40)
    const paged: string[] = []
    let cursor: string | null = null
    let deleted = false
    do {
      const page = await engine.list('blobs/', { limit: 7, cursor: cursor ?? undefined })
      paged.push(...page.keys.map((k) => k.key))
      cursor = page.cursor
      if (!deleted) {
        // Deleted after the walk read its directory: the page's stat leaves it out.
        await engine.delete(whole.at(-1)!)
        deleted = true
      }
    } while (cursor !== null)
    expect(paged).toEqual(whole.slice(0, -1))
  })
})
