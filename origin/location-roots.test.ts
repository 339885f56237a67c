import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../db/client.ts'
import { deploymentId } from '../db/queries/settings.ts'
import { createFsEngine } from '../storage/drivers/fs.ts'
import { StorageError } from '../storage/engine.ts'
import { parseMarker, ROOT_MARKER } from '../storage/drivers/fs-root.ts'
import { setUpLocationRoot } from './location-roots.ts'
import type { LocationConfig } from './config/types.ts'

let dir: string
let db: Db
const location = (root: string): LocationConfig => ({ id: 'disk', driver: 'fs', params: { root }, lat: 0, lon: 0, replicateByDefault: false, serve: 'proxy', readOnly: false })
const body = (text: string) => new Response(text).body!

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meridian-roots-'))
  db = openDatabase(':memory:')
})
afterEach(() => {
  closeDatabase(db)
  rmSync(dir, { recursive: true, force: true })
})

describe('setting up a local-disk location root', () => {
  it('creates the root once, with a marker naming the location and the deployment', async () => {
    const root = join(dir, 'root')
    expect(await setUpLocationRoot(db, location(root), deploymentId(db))).toBe('created')
    expect(parseMarker(readFileSync(join(root, ROOT_MARKER), 'utf8'))).toEqual({ location: 'disk', deployment: deploymentId(db) })
    expect(await setUpLocationRoot(db, location(root), deploymentId(db))).toBe('ok')
  })

  it('keeps one deployment id for the life of the database', () => {
    expect(deploymentId(db)).toBe(deploymentId(db))
    expect(deploymentId(db)).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('refuses a root that vanished after set-up, and does not recreate it', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), deploymentId(db))
    renameSync(root, `${root}.moved`)
    expect(await setUpLocationRoot(db, location(root), deploymentId(db))).toBe('missing')
    expect(existsSync(root)).toBe(false)
  })

  it('refuses a root whose marker names another deployment (the wrong volume mounted)', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), 'other-deployment')
    expect(await setUpLocationRoot(db, location(root), deploymentId(db))).toBe('foreign')
  })

  it('adopts a root from before markers that holds Meridian\'s layout', async () => {
    const root = join(dir, 'root')
    mkdirSync(join(root, 'blobs', 'sha256'), { recursive: true })
    mkdirSync(join(root, 'uploads'))
    expect(await setUpLocationRoot(db, location(root), deploymentId(db))).toBe('adopted')
    expect(existsSync(join(root, ROOT_MARKER))).toBe(true)
  })

  it('refuses an empty unmarked root of a location set up before (an empty mount point), and a root of strangers', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), deploymentId(db))
    rmSync(root, { recursive: true })
    mkdirSync(root)
    expect(await setUpLocationRoot(db, location(root), deploymentId(db))).toBe('unmarked')
    const other = join(dir, 'home')
    mkdirSync(other)
    writeFileSync(join(other, 'notes.txt'), 'mine')
    expect(await setUpLocationRoot(db, { ...location(other), id: 'home' }, deploymentId(db))).toBe('stranger')
  })
})

describe('the fs driver bound to a marker', () => {
  it('reads a vanished root as the location down, never as absent keys, and never recreates it', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), deploymentId(db))
    const engine = createFsEngine({ location: 'disk', root, marker: { location: 'disk', deployment: deploymentId(db) } })
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

  it('refuses to write into a root with another marker', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), 'other-deployment')
    const engine = createFsEngine({ location: 'disk', root, marker: { location: 'disk', deployment: deploymentId(db) } })
    await expect(engine.put('blobs/x', body('x'))).rejects.toThrow(/belongs to another location or deployment/)
    await expect(engine.list('')).resolves.toMatchObject({ keys: [] })
  })

  it('never sweeps the temporary files of a root with another marker', async () => {
    const root = join(dir, 'root')
    await setUpLocationRoot(db, location(root), 'other-deployment')
    mkdirSync(join(root, '.tmp'), { recursive: true })
    writeFileSync(join(root, '.tmp', 'theirs'), 'a write of another deployment')
    const engine = createFsEngine({ location: 'disk', root, marker: { location: 'disk', deployment: deploymentId(db) } })
    await expect(engine.sweepTemporary!(new Date(Date.now() + 3_600_000))).rejects.toThrow(/belongs to another location or deployment/)
    expect(existsSync(join(root, '.tmp', 'theirs'))).toBe(true)
  })
})
