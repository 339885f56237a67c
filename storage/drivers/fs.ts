// A location on a local or mounted filesystem: key `k` lives at `<root>/<k>` (storage/keys.ts).
// Node only: with its fs-*.ts helpers and gcs.ts, the only storage files allowed `node:` imports
// (ARCHITECTURE §4.6).
//
// Writes never touch an existing file: a put fills a temp file in `<root>/.tmp` (same filesystem,
// so the final rename is atomic), fsyncs it, renames it into place and fsyncs the directory.
// That is also what makes copy-by-hard-link safe: two names may share an inode because neither is
// ever written through again.

import { randomUUID } from 'node:crypto'
import { constants } from 'node:fs'
import { copyFile, link, mkdir, open, readFile, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { StorageError } from '../engine.ts'
import type { GetResult, ListPage, ObjectInfo, PutOptions, StorageEngine } from '../engine.ts'
import { BodyReader } from '../body-reader.ts'
import { toStorageError } from '../errors.ts'
import { assertKey, assertPrefix, listLimit, resolveRange } from '../guard.ts'
import { fileStream, rememberLocalFile } from './fs-read-stream.ts'
import { writeBody } from './fs-write.ts'
import { createRootCheck, ROOT_MARKER, type RootMarker } from './fs-root.ts'
import { createKeyWalks } from './fs-walk.ts'
import { createBlobUrlSigner, type SigningSecret } from '../signed-url.ts'
import { digestOfBlobKey } from '../keys.ts'

export interface FsEngineOptions {
  location: string
  /** Directory holding the objects; created on first write unless `marker` is given. */
  root: string
  /**
   * Whose root this is (storage/drivers/fs-root.ts). When given, the root is never created here
   * (origin/location-roots.ts sets it up once): a missing root, or one whose marker names another
   * location or deployment, fails every operation with StorageError('unavailable') instead of
   * reading as absent keys, and so does a path component that is not a directory.
   */
  marker?: RootMarker
  /**
   * Where the process that owns this disk serves it, and the deployment's URL signing key: with
   * both, presign answers signed URLs (storage/signed-url.ts) that origin/routes/signed-blobs.ts
   * serves, so edges can redirect to this location. Without them there is no presign.
   */
  signedUrls?: { publicUrl: string; secret: SigningSecret; expiresIn?: number }
}

const TMP = '.tmp'

const errno = (err: unknown): string | undefined => (err as { code?: string } | null)?.code

export function createFsEngine({ location, root, marker, signedUrls }: FsEngineOptions): StorageEngine {
  const rootDir = resolve(root)
  const tmpDir = join(rootDir, TMP)
  const markerPath = join(rootDir, ROOT_MARKER)
  // The driver's own entries beside the keys are never listed.
  const walks = createKeyWalks({
    skip: (relative, name) => relative === '' && (name === TMP || name === ROOT_MARKER),
    read: (path) => readdir(path, { withFileTypes: true }),
  })
  const rootCheck = marker
    ? createRootCheck(location, rootDir, marker, {
      readMarker: () => readFile(markerPath, 'utf8'),
      rootExists: async () => (await stat(rootDir).catch(() => null))?.isDirectory() ?? false,
      markerIdentity: async () => {
        const s = await stat(markerPath, { bigint: true }).catch(() => null)
        return s?.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.ctimeNs}:${s.mtimeNs}` : null
      },
    })
    : null

  /** The file of `key`, which must resolve to a path strictly inside the root, outside `.tmp`. */
  function pathOf(key: string): string {
    assertKey(key, location)
    const path = resolve(rootDir, key)
    // Defence in depth: assertKey already rules out '..' and absolute keys.
    if (!path.startsWith(rootDir + sep) || path === tmpDir || path.startsWith(tmpDir + sep) || path === markerPath) {
      throw new StorageError('invalid', location, `key ${JSON.stringify(key)} resolves outside the location root`)
    }
    return path
  }

  const fail = (err: unknown, doing: string) => toStorageError(err, location, doing)

  async function newTempPath(): Promise<string> {
    if (!rootCheck) await mkdir(tmpDir, { recursive: true })
    else {
      // Every write checks the marker (one small read beside two fsyncs): a volume swapped under
      // a running origin never receives a blob its placement would then wrongly vouch for. Never
      // `recursive`: that would recreate a vanished root on the parent filesystem.
      await rootCheck.assert()
      await mkdir(tmpDir).catch((err) => { if (errno(err) !== 'EEXIST') throw err })
    }
    return join(tmpDir, randomUUID())
  }

  /**
   * A read found no file: null (absent key), unless the root itself is gone or foreign, or (for
   * a marked root, whose layout never puts a file where a directory belongs) a path component
   * is not a directory: then the location is down, and the key's placement must not be doubted.
   */
  async function absent(err: unknown, doing: string): Promise<null> {
    if (!rootCheck) return null
    try {
      await rootCheck.assert()
    } catch (failure) {
      throw fail(failure, doing)
    }
    if (errno(err) === 'ENOTDIR') throw new StorageError('unavailable', location, `${location}: ${doing}: a path component is not a directory: the location's layout is damaged`)
    return null
  }

  /**
   * Creates the directories between the root and `dir`. A marked root is never created here, nor
   * recreated: its levels are made one by one below a root that must exist, so a volume that
   * vanished mid-write (umount -l, a renamed directory) fails the write instead of growing a
   * fresh `blobs/` tree on the parent filesystem, which a later start would mistake for this
   * location's layout. Returns the directories it created, outermost first.
   */
  async function makeParents(dir: string): Promise<string[]> {
    if (!rootCheck) {
      await mkdir(dir, { recursive: true })
      return []
    }
    await rootCheck.assert()
    // Usually the parent exists, or only its last level is missing: one mkdir.
    try {
      await mkdir(dir)
      return [dir]
    } catch (err) {
      if (errno(err) === 'EEXIST') return []
      if (errno(err) !== 'ENOENT') throw err
    }
    const created: string[] = []
    let path = rootDir
    for (const level of dir.slice(rootDir.length).split(sep).filter(Boolean)) {
      path = join(path, level)
      try {
        await mkdir(path)
        created.push(path)
      } catch (err) {
        if (errno(err) === 'EEXIST') continue
        await assertRootOrUndo(created)
        throw err
      }
    }
    return created
  }

  /**
   * The root went while a write made its directories (between the check and the rename): takes
   * back what the write made (rmdir removes only empty directories: nothing of anyone else's
   * goes) and throws the location down.
   */
  async function assertRootOrUndo(created: string[]): Promise<void> {
    try {
      await rootCheck?.assert()
    } catch (failure) {
      for (const path of created.reverse()) await rmdir(path).catch(() => {})
      throw failure
    }
  }

  /** Renames a finished temp file onto `target`, creating parents; fsyncs the directory. */
  async function moveIntoPlace(tmp: string, target: string): Promise<void> {
    // A concurrent delete may prune a parent directory while the levels are made or before the
    // rename: try again (the root itself is checked first, so a vanished volume still fails).
    for (let attempt = 1; ; attempt++) {
      let created: string[] = []
      try {
        created = await makeParents(dirname(target))
        await rename(tmp, target)
        break
      } catch (err) {
        await assertRootOrUndo(created)
        if (errno(err) !== 'ENOENT' || attempt >= 5) throw err
      }
    }
    await syncDirectory(dirname(target))
  }

  const engine: StorageEngine = {
    location,
    driver: 'fs',

    async stat(key) {
      const path = pathOf(key)
      try {
        const info = await stat(path)
        return info.isFile() ? { key, size: info.size, modified: info.mtime } : null
      } catch (err) {
        if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return absent(err, `stat ${key}`)
        throw fail(err, `stat ${key}`)
      }
    },

    async get(key, options = {}): Promise<GetResult | null> {
      const path = pathOf(key)
      let handle: FileHandle
      try {
        handle = await open(path, 'r')
      } catch (err) {
        if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return absent(err, `get ${key}`)
        throw fail(err, `get ${key}`)
      }
      try {
        const info = await handle.stat()
        if (!info.isFile()) {
          await handle.close()
          return null
        }
        const range = resolveRange(options.range, info.size, location, key)
        const start = range?.start ?? 0
        const end = range ? range.end + 1 : info.size
        const body = rememberLocalFile(fileStream(handle, start, end, (length) => Buffer.allocUnsafeSlow(length), () => options.signal?.aborted ? new StorageError('aborted', location, `get ${key} aborted`) : null), { path, start, end })
        return range ? { body, size: info.size, range } : { body, size: info.size }
      } catch (err) {
        await handle.close().catch(() => {})
        throw fail(err, `get ${key}`)
      }
    },

    async put(key, stream, options: PutOptions = {}) {
      const target = pathOf(key)
      const body = new BodyReader(stream, { location, key, size: options.size, signal: options.signal })
      let tmp: string | null = null
      let handle: FileHandle | null = null
      try {
        tmp = await newTempPath()
        handle = await open(tmp, 'wx')
        await writeBody(handle, body)
        await handle.sync()
        await handle.close()
        handle = null
        await moveIntoPlace(tmp, target)
        tmp = null
        return { key, size: body.bytes, modified: new Date() }
      } catch (err) {
        throw body.failure(err)
      } finally {
        if (handle) await handle.close().catch(() => {})
        if (tmp) await unlink(tmp).catch(() => {})
      }
    },

    async delete(key) {
      const path = pathOf(key)
      try {
        // Never a key of another deployment's volume mounted at the root: gc would take it for an
        // orphaned part, and a replica we wrongly believe is ours for one to repair.
        await rootCheck?.assert()
        await unlink(path)
      } catch (err) {
        // Missing, or a directory (not an object): either way there is no object to delete.
        if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes(errno(err) ?? '')) return
        throw fail(err, `delete ${key}`)
      }
      // Upload sessions leave one directory each: prune empty parents, stopping at the first
      // non-empty one (or any error; a racing put re-creates what it needs).
      // The top-level folders (blobs/, uploads/) stay: every write makes its way through them.
      for (let dir = dirname(path); dirname(dir).startsWith(rootDir + sep); dir = dirname(dir)) {
        try {
          await rmdir(dir)
        } catch {
          break
        }
      }
    },

    async list(prefix, options = {}): Promise<ListPage> {
      assertPrefix(prefix, location)
      const limit = listLimit(options.limit)
      const cursor = options.cursor
      const base = prefix.slice(0, prefix.lastIndexOf('/') + 1)
      try {
        // A foreign or vanished root lists as the location down, not as an empty location.
        await rootCheck?.assert()
        const { keys: page, more } = await walks.page(join(rootDir, base), base, prefix, cursor, limit)
        const infos = await Promise.all(page.map(async (key): Promise<ObjectInfo | null> => {
          const info = await stat(join(rootDir, key)).catch(() => null)
          return info?.isFile() ? { key, size: info.size, modified: info.mtime } : null
        }))
        return {
          keys: infos.filter((info): info is ObjectInfo => info !== null),
          cursor: more ? page[page.length - 1]! : null,
        }
      } catch (err) {
        throw fail(err, `list ${prefix}`)
      }
    },

    async copySource(key) {
      const path = pathOf(key)
      // A foreign volume's file must never become this location's bytes in another location.
      try {
        await rootCheck?.assert()
      } catch (err) {
        throw fail(err, `describe ${key} for a copy`)
      }
      const info = await stat(path).catch(() => null)
      return info?.isFile() ? { kind: 'fs', path } : null
    },

    // Between fs locations: an independent copy (copy_file_range, or a reflink where the
    // filesystem can), never a hard link: two locations must not share one inode. `check` reads
    // the temp file while it is fsynced (the CPU hashes while the disk flushes), and bytes it
    // refuses are never renamed into place.
    async copyFrom(source, key, size, check) {
      if (source.kind !== 'fs') return null
      const to = pathOf(key)
      let tmp: string | null = await newTempPath()
      let refused: { reason: unknown } | null = null
      try {
        try {
          await copyFile(source.path, tmp, constants.COPYFILE_FICLONE)
        } catch (err) {
          if (errno(err) === 'ENOENT') return null
          throw err
        }
        const handle = await open(tmp, 'r+')
        try {
          const copied = await handle.stat()
          if (copied.size !== size) throw new StorageError('invalid', location, `copy of ${key} has ${copied.size} bytes, expected ${size}`)
          const reading = check && (async () => {
            const reader = await open(tmp!, 'r')
            try {
              await check(fileStream(reader, 0, size, (length) => Buffer.allocUnsafeSlow(length), () => null))
            } catch (reason) {
              refused = { reason }
              throw reason
            } finally {
              // The stream closes it once read to the end; a check that stopped early leaves it open.
              await reader.close().catch(() => {})
            }
          })()
          // Settled both ways before the handle closes: the fsync must not outlive it.
          const [synced, read] = await Promise.allSettled([handle.sync(), reading])
          if (read.status === 'rejected') throw read.reason
          if (synced.status === 'rejected') throw synced.reason
        } finally {
          await handle.close()
        }
        await moveIntoPlace(tmp, to)
        tmp = null
        return { key, size, modified: new Date(), ...(check ? { checked: true } : {}) }
      } catch (err) {
        if (refused) throw (refused as { reason: unknown }).reason
        throw fail(err, `copy ${key} from another location`)
      } finally {
        if (tmp) await unlink(tmp).catch(() => {})
      }
    },

    // A temp file's ctime moves with every write (fs-write.ts writes at least every few seconds
    // while a body is moving) and with the link() of a copy, whose mtime is the source's; so one
    // whose ctime and mtime are both older than the cut-off belongs to no live write.
    async sweepTemporary(olderThan, { dryRun = false } = {}) {
      const swept = { items: 0, bytes: 0 }
      // A foreign volume mounted at the root is not ours to clean: refuse like any other access.
      await rootCheck?.assert()
      let names: string[]
      try {
        names = await readdir(tmpDir)
      } catch (err) {
        if (errno(err) === 'ENOENT') return swept
        throw fail(err, 'list temporary files')
      }
      for (const name of names) {
        const path = join(tmpDir, name)
        const info = await stat(path).catch(() => null)
        if (!info?.isFile() || Math.max(info.ctimeMs, info.mtimeMs) >= olderThan.getTime()) continue
        if (!dryRun) {
          try {
            await unlink(path)
          } catch (err) {
            if (errno(err) === 'ENOENT') continue
            throw fail(err, `remove temporary file ${name}`)
          }
        }
        swept.items++
        swept.bytes += info.size
      }
      return swept
    },

    async copy(fromKey, toKey) {
      const from = pathOf(fromKey)
      const to = pathOf(toKey)
      let tmp: string | null = null
      try {
        const source = await stat(from).catch((err) => {
          if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return null
          throw err
        })
        if (!source?.isFile()) {
          await rootCheck?.assert()
          return null
        }
        if (from === to) return { key: toKey, size: source.size, modified: source.mtime }
        tmp = await newTempPath()
        try {
          // O(1) and atomic: a second name for the same inode, renamed into place.
          await link(from, tmp)
        } catch (err) {
          if (errno(err) === 'ENOENT') return null
          if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(errno(err) ?? '')) throw err
          // No hard links here (some network and FUSE filesystems): a real copy, reflinked where
          // the filesystem can, made durable before it is renamed into place.
          await copyFile(from, tmp, constants.COPYFILE_FICLONE)
          const handle = await open(tmp, 'r+')
          await handle.sync().finally(() => handle.close())
        }
        await moveIntoPlace(tmp, to)
        tmp = null
        return { key: toKey, size: source.size, modified: new Date() }
      } catch (err) {
        throw fail(err, `copy ${fromKey} to ${toKey}`)
      } finally {
        if (tmp) await unlink(tmp).catch(() => {})
      }
    },
  }
  if (signedUrls) {
    const signer = createBlobUrlSigner({ baseUrl: signedUrls.publicUrl, location, secret: signedUrls.secret, expiresIn: signedUrls.expiresIn })
    // Signing needs neither the disk nor the file: like S3's, a URL for a missing object is made
    // and answers 404 when followed. Only blob keys are signed (digest-bound); for any other key
    // there is no URL, and the caller serves the bytes itself. A range is the client's to send.
    engine.presign = async (key, options = {}) => {
      assertKey(key, location)
      if (digestOfBlobKey(key) === null) return null
      return signer.sign(key, { expiresIn: options.expiresIn })
    }
  }
  return engine
}

/** Makes a rename durable: the new directory entry survives a crash once this returns. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | null = null
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch (err) {
    // Some platforms (Windows) and filesystems cannot fsync a directory; the rename still stands.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'ENOTSUP'].includes((err as { code?: string } | null)?.code ?? '')) throw err
  } finally {
    await handle?.close().catch(() => {})
  }
}
