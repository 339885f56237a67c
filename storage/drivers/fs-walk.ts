// Listing an fs location's keys in pages (StorageEngine.list). A page walks the directory tree in
// key order from its cursor; a blob fan-out directory holds 1/256 of all blobs, so starting each
// page afresh re-read and re-sorted that directory for every 1,000 keys: a pass over n blobs cost
// about n²/256,000 entries (10 M blobs: ~400 M). Instead the walk a page stopped in is kept, for a
// while, under the cursor the page returned, and the next page with that cursor goes on from it.
// A cursor nobody continues is dropped after IDLE_MS, or when newer walks push it out; a page
// whose cursor is not kept (another process, an evicted walk) walks afresh, as before, with the
// same result.

import { isValidKey } from '../guard.ts'

/** Walks kept at once, per location: a listing in progress each (gc, the orphan sweeps). */
const MAX_KEPT = 8
/** A kept walk not continued within this long is dropped (its directory listings freed). */
export const IDLE_MS = 60_000

interface Kept {
  walker: AsyncGenerator<string>
  /** The key the walk found past the page it ended: the next page's first. */
  next: string
  at: number
  /** Drops it after IDLE_MS even if no other listing comes (a pass stopped half-way). */
  timer: ReturnType<typeof setTimeout>
}

export interface KeyWalks {
  /**
   * Up to `limit` keys under `base` (a directory prefix of `prefix`, relative `dir`) that start
   * with `prefix` and sort after `cursor`, and whether more follow.
   */
  page(dir: string, base: string, prefix: string, cursor: string | undefined, limit: number): Promise<{ keys: string[]; more: boolean }>
}

/** What a directory read gives (node:fs Dirent's shape): this file stays free of Node imports. */
export interface DirEntry { name: string; isFile(): boolean; isDirectory(): boolean }
/** readdir(path, { withFileTypes: true }); ENOENT/ENOTDIR read as an empty directory. */
export type ReadDir = (path: string) => Promise<DirEntry[]>

export interface KeyWalksOptions {
  /** Entries that are not keys (the fs driver's .tmp and root marker). */
  skip: (relative: string, name: string) => boolean
  read: ReadDir
  /** Tests: their clock. */
  now?: () => number
}

export function createKeyWalks(options: KeyWalksOptions): KeyWalks {
  const { skip, now = Date.now, read } = options
  const kept = new Map<string, Kept>()
  const id = (prefix: string, cursor: string) => `${prefix}\0${cursor}`

  function drop(key: string): void {
    const entry = kept.get(key)
    if (!entry) return
    kept.delete(key)
    clearTimeout(entry.timer)
    void entry.walker.return(undefined).catch(() => {})
  }

  return {
    async page(dir, base, prefix, cursor, limit) {
      for (const [key, entry] of kept) if (now() - entry.at > IDLE_MS) drop(key)
      const resumed = cursor === undefined ? undefined : kept.get(id(prefix, cursor))
      if (resumed) {
        kept.delete(id(prefix, cursor!))
        clearTimeout(resumed.timer)
      }
      const walker = resumed?.walker ?? walk(dir, base, prefix, cursor, skip, read)
      const keys: string[] = resumed ? [resumed.next] : []
      try {
        for (;;) {
          const step = await walker.next()
          if (step.done) return { keys, more: false }
          if (keys.length === limit) {
            // One key past the page: there is more. Keep the walk for the page after this one.
            const key = id(prefix, keys[keys.length - 1]!)
            drop(key) // another listing that ended on the same key: this one replaces it
            if (kept.size >= MAX_KEPT) drop(kept.keys().next().value!)
            const timer = setTimeout(() => drop(key), IDLE_MS)
            timer.unref?.()
            kept.set(key, { walker, next: step.value, at: now(), timer })
            return { keys, more: true }
          }
          keys.push(step.value)
        }
      } catch (err) {
        void walker.return(undefined).catch(() => {})
        throw err
      }
    },
  }
}

/**
 * Keys under `dirPath` (whose key prefix is `relative`) that start with `prefix` and sort after
 * `cursor`, in lexical order of the whole key. Entries are ordered as `name` for files and
 * `name/` for directories, because that is where their keys sort: 'a-c' < 'a/b' < 'a0'.
 */
async function* walk(dirPath: string, relative: string, prefix: string, cursor: string | undefined, skip: KeyWalksOptions['skip'], read: ReadDir): AsyncGenerator<string> {
  let entries
  try {
    entries = await read(dirPath)
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code
    if (code === 'ENOENT' || code === 'ENOTDIR') return
    throw err
  }
  const sorted = entries
    .filter((entry) => !skip(relative, entry.name) && (entry.isFile() || entry.isDirectory()))
    .map((entry) => ({ entry, sortKey: relative + entry.name + (entry.isDirectory() ? '/' : '') }))
    .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0))
  for (const { entry, sortKey } of sorted) {
    if (entry.isDirectory()) {
      // Skip subtrees the prefix rules out, and those wholly at or before the cursor.
      if (!sortKey.startsWith(prefix) && !prefix.startsWith(sortKey)) continue
      if (cursor !== undefined && cursor > sortKey && !cursor.startsWith(sortKey)) continue
      yield* walk(`${dirPath.replace(/\/+$/, '')}/${entry.name}`, sortKey, prefix, cursor, skip, read)
    } else if (sortKey.startsWith(prefix) && (cursor === undefined || sortKey > cursor) && isValidKey(sortKey)) {
      yield sortKey
    }
  }
}
