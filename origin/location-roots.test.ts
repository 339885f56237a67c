import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../db/client.ts'
import { testDatabaseUrl } from '../test/helpers/test-database.ts'
import { enqueueReplication, recordPlacement } from '../db/queries/placements.ts'
import { ensureRepository } from '../db/queries/repositories.ts'
import { deploymentId } from '../db/queries/settings.ts'
import { createUpload } from '../db/queries/uploads.ts'
import { replicationJobs } from '../db/schema.ts'
import { createFsEngine } from '../storage/drivers/fs.ts'
import { StorageError } from '../storage/engine.ts'
import { formatMarker, parseMarker, ROOT_MARKER } from '../storage/drivers/fs-root.ts'
import { setUpLocationRoot } from './location-roots.ts'
import type { LocationConfig } from './config/types.ts'

let dir: string
let db: Db
const location = (root: string): LocationConfig => ({ id: 'disk', driver: 'fs', params: { root }, lat: 0, lon: 0, replicateByDefault: false, serve: 'proxy', readOnly: false })
const body = (text: string) => new Response(text).body!

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meridian-roots-'))
  // Beside the roots the tests make, not among them.
  db = await openDatabase(await testDatabaseUrl(join(dir, 'db')))
})
afterEach(async () => {
  await closeDatabase(db)
  rmSync(dir, { recursive: true, force: true })
})

describe('setting up a local-disk location root', () => {
  it('creates the root once, with a marker naming the location and the deployment', async () => {
    const root = join(dir, 'root')
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('created')
    expect(parseMarker(readFileSync(join(root, ROOT_MARKER), 'utf8'))).toEqual({ location: 'disk', deployment: await deploymentId(db) })
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('ok')
  })

  it('keeps one deployment id for the life of the database', async () => {
    expect(await deploymentId(db)).toBe(await deploymentId(db))
    expect(await deploymentId(db)).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('refuses a root that vanished after set-up, and does not recreate it', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), await deploymentId(db))
    renameSync(root, `${root}.moved`)
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('missing')
    expect(existsSync(root)).toBe(false)
  })

  it('refuses a root whose marker names another deployment (the wrong volume mounted)', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), 'other-deployment')
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('foreign')
  })

  it('adopts a root from before markers that holds Meridian\'s layout', async () => {
    const root = join(dir, 'root')
    mkdirSync(join(root, 'blobs', 'sha256'), { recursive: true })
    mkdirSync(join(root, 'uploads'))
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('adopted')
    expect(existsSync(join(root, ROOT_MARKER))).toBe(true)
  })

  it('refuses an empty unmarked root of a location set up before (an empty mount point), and a root of strangers', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), await deploymentId(db))
    rmSync(root, { recursive: true })
    mkdirSync(root)
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('unmarked')
    const other = join(dir, 'home')
    mkdirSync(other)
    writeFileSync(join(other, 'notes.txt'), 'mine')
    expect(await setUpLocationRoot(db, { ...location(other), id: 'home' }, await deploymentId(db))).toBe('stranger')
  })
})

describe('a database upgraded from before set-ups were recorded', () => {
  // Migration 0002 added the `settings` table: an upgraded database records no set-up, but its rows
  // say which locations held bytes.
  const referencesTo: Record<string, (id: string) => Promise<unknown>> = {
    placement: (id) => recordPlacement(db, { digest: `sha256:${'a'.repeat(64)}`, location: id, size: 1 }),
    'upload session': async (id) => createUpload(db, { id: crypto.randomUUID(), repositoryId: (await ensureRepository(db, 'acme/app')).id, location: id }),
    'replication job into it': (id) => enqueueReplication(db, `sha256:${'b'.repeat(64)}`, [id]),
    'replication job out of it': (id) => db.insert(replicationJobs).values({ digest: `sha256:${'c'.repeat(64)}`, location: 'elsewhere', sourceLocation: id, state: 'pending', dueAt: 0, createdAt: 0, updatedAt: 0 }).run(),
  }

  for (const [what, refer] of Object.entries(referencesTo)) {
    it(`refuses a missing root, and an empty one (a mount point), of a location a ${what} names`, async () => {
      await refer('disk')
      const root = join(dir, 'root')
      expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('missing')
      expect(existsSync(root)).toBe(false)
      mkdirSync(root)
      expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('unmarked')
      expect(readdirSync(root)).toEqual([])
    })
  }

  it('adopts the root of a location it names when the root holds Meridian\'s layout (an upgrade from before markers)', async () => {
    await referencesTo.placement!('disk')
    const root = join(dir, 'root')
    mkdirSync(join(root, 'blobs', 'sha256', 'aa'), { recursive: true })
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('adopted')
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('ok')
  })

  it('still creates the root of a location nothing names (another location\'s rows do not count)', async () => {
    await referencesTo.placement!('other')
    expect(await setUpLocationRoot(db, location(join(dir, 'root')), await deploymentId(db))).toBe('created')
  })
})

describe('the fs driver bound to a marker', () => {
  it('reads a vanished root as the location down, never as absent keys, and never recreates it', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), await deploymentId(db))
    const engine = createFsEngine({ location: 'disk', root, marker: { location: 'disk', deployment: await deploymentId(db) } })
    await engine.put('blobs/x', body('bytes'))
    expect(await engine.get('blobs/absent')).toBeNull()
    renameSync(root, `${root}.moved`)
    for (const call of [() => engine.get('blobs/x'), () => engine.stat('blobs/x'), () => engine.put('blobs/y', body('y'))]) {
      const err = await call().then(() => null, (e: unknown) => e)
      expect(err).toBeInstanceOf(StorageError)
      expect((err as StorageError).kind).toBe('unavailable')
      expect((err as StorageError).message).toMatch(/is missing/)
    }
    expect(existsSync(root)).toBe(false)
    renameSync(`${root}.moved`, root)
    expect(await engine.stat('blobs/x')).toMatchObject({ size: 5 })
  })

  it('refuses to write into, list, delete from or copy out of a root with another marker', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), 'other-deployment')
    mkdirSync(join(root, 'uploads', 'theirs'), { recursive: true })
    writeFileSync(join(root, 'uploads', 'theirs', '00000000'), 'a part of another deployment')
    const engine = createFsEngine({ location: 'disk', root, marker: { location: 'disk', deployment: await deploymentId(db) } })
    const foreign = { name: 'StorageError', kind: 'unavailable', message: expect.stringMatching(/belongs to another location or deployment/) }
    await expect(engine.put('blobs/x', body('x'))).rejects.toMatchObject(foreign)
    await expect(engine.list('')).rejects.toMatchObject(foreign)
    await expect(engine.list('uploads/')).rejects.toMatchObject(foreign)
    await expect(engine.delete('uploads/theirs/00000000')).rejects.toMatchObject(foreign)
    await expect(engine.copySource!('uploads/theirs/00000000')).rejects.toMatchObject(foreign)
    await expect(engine.copy!('uploads/absent', 'uploads/elsewhere')).rejects.toMatchObject(foreign)
    expect(readFileSync(join(root, 'uploads', 'theirs', '00000000'), 'utf8')).toBe('a part of another deployment')
  })

  it('never recreates the layout of a root that vanishes while a put is writing, and the next start refuses it', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), await deploymentId(db))
    const engine = createFsEngine({ location: 'disk', root, marker: { location: 'disk', deployment: await deploymentId(db) } })
    // Once renamed away (a directory moved), once unmounted lazily (umount -l: an empty mount point
    // stays where the root was).
    for (const leaveMountPoint of [false, true]) {
      let feed!: ReadableStreamDefaultController<Uint8Array>
      const put = engine.put(`blobs/sha256/ab/${'ab'.repeat(32)}`, new ReadableStream<Uint8Array>({ start: (c) => { feed = c } }))
      feed.enqueue(new Uint8Array(100))
      await expect.poll(() => readdirSync(join(root, '.tmp')).length).toBe(1)
      renameSync(root, `${root}.moved`)
      if (leaveMountPoint) mkdirSync(root)
      feed.close()
      await expect(put).rejects.toMatchObject({ name: 'StorageError', kind: 'unavailable' })
      expect(leaveMountPoint ? readdirSync(root) : existsSync(root)).toEqual(leaveMountPoint ? [] : false)
      // What the next start finds: an empty mount point of a location set up before.
      expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe(leaveMountPoint ? 'unmarked' : 'missing')
      if (leaveMountPoint) rmSync(root, { recursive: true })
      renameSync(`${root}.moved`, root)
      // Its temp file is left on the volume for the temporary sweep; no blob was stored.
      expect(readdirSync(join(root, '.tmp'))).toHaveLength(1)
      expect(existsSync(join(root, 'blobs'))).toBe(false)
      rmSync(join(root, '.tmp'), { recursive: true })
    }
  })

  it('refuses, and never adopts, a root set up before whose marker is gone, even when it holds Meridian\'s layout', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), await deploymentId(db))
    // What an old driver left after the volume vanished mid-write: a layout on the parent filesystem.
    renameSync(root, `${root}.moved`)
    mkdirSync(join(root, 'blobs', 'sha256', 'ab'), { recursive: true })
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('unmarked')
    expect(existsSync(join(root, ROOT_MARKER))).toBe(false)
    // Not even a marker some other tool left that is not Meridian's own.
    writeFileSync(join(root, ROOT_MARKER), 'not json')
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('foreign')
    writeFileSync(join(root, ROOT_MARKER), formatMarker({ location: 'disk', deployment: await deploymentId(db) }))
    expect(await setUpLocationRoot(db, location(root), await deploymentId(db))).toBe('ok')
  })

  it('never sweeps the temporary files of a root with another marker', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), 'other-deployment')
    mkdirSync(join(root, '.tmp'), { recursive: true })
    writeFileSync(join(root, '.tmp', 'theirs'), 'a write of another deployment')
    const engine = createFsEngine({ location: 'disk', root, marker: { location: 'disk', deployment: await deploymentId(db) } })
    await expect(engine.sweepTemporary!(new Date(Date.now() + 3_600_000))).rejects.toThrow(/belongs to another location or deployment/)
    expect(existsSync(join(root, '.tmp', 'theirs'))).toBe(true)
  })
})
