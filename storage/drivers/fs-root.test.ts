// The root check's shortcut: a marker already found right is not read again while its identity
// (device, inode, size, times) stays; any change to it, a moved root or another volume is read.

import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRootCheck, formatMarker, MARKER_REREAD_MS, ROOT_MARKER, type RootMarker } from './fs-root.ts'
import { createFsEngine } from './fs.ts'

const MARKER: RootMarker = { location: 'us-east', deployment: 'd1' }
let dir: string
let root: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meridian-root-'))
  root = join(dir, 'us-east')
  mkdirSync(root)
  writeFileSync(join(root, ROOT_MARKER), formatMarker(MARKER))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function countingCheck() {
  const path = join(root, ROOT_MARKER)
  let reads = 0
  const check = createRootCheck('us-east', root, MARKER, {
    readMarker: async () => { reads++; return readFileSync(path, 'utf8') },
    rootExists: async () => (await stat(root).catch(() => null))?.isDirectory() ?? false,
    markerIdentity: async () => {
      const s = await stat(path, { bigint: true }).catch(() => null)
      return s ? `${s.dev}:${s.ino}:${s.size}:${s.ctimeNs}:${s.mtimeNs}` : null
    },
  })
  return { check, reads: () => reads }
}

describe('root check', () => {
  it('reads a right marker once, then only looks at its identity', async () => {
    const { check, reads } = countingCheck()
    for (let i = 0; i < 5; i++) await check.assert()
    expect(reads()).toBe(1)
  })

  it('reads the marker again once it was trusted by its identity for MARKER_REREAD_MS', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const { check, reads } = countingCheck()
      await check.assert()
      vi.setSystemTime(Date.now() + MARKER_REREAD_MS - 1)
      await check.assert()
      expect(reads()).toBe(1)
      vi.setSystemTime(Date.now() + 2)
      await check.assert()
      expect(reads()).toBe(2)
    } finally {
      vi.useRealTimers()
    }
  })

  it('reads a changed marker again and refuses a foreign one', async () => {
    const { check, reads } = countingCheck()
    await check.assert()
    writeFileSync(join(root, ROOT_MARKER), formatMarker({ location: 'us-east', deployment: 'd2' }))
    await expect(check.assert()).rejects.toThrow(/belongs to another location or deployment/)
    expect(reads()).toBe(2)
    // And after it failed, a right marker again is read, not trusted from before.
    writeFileSync(join(root, ROOT_MARKER), formatMarker(MARKER))
    await check.assert()
    expect(reads()).toBe(3)
  })

  it('refuses a root moved away, and another root put in its place', async () => {
    const { check } = countingCheck()
    await check.assert()
    renameSync(root, join(dir, 'moved'))
    await expect(check.assert()).rejects.toThrow(/is missing/)
    mkdirSync(root)
    await expect(check.assert()).rejects.toThrow(/has no .meridian-location marker/)
    writeFileSync(join(root, ROOT_MARKER), formatMarker({ location: 'eu-west', deployment: 'd1' }))
    await expect(check.assert()).rejects.toThrow(/belongs to another location/)
  })

  it('the fs driver refuses a write once its marker is swapped, after writes that passed', async () => {
    const engine = createFsEngine({ location: 'us-east', root, marker: MARKER })
    const body = () => new Response(new Uint8Array([1, 2, 3])).body!
    await engine.put('blobs/sha256/aa/aa01', body(), { size: 3 })
    await engine.put('blobs/sha256/aa/aa02', body(), { size: 3 })
    writeFileSync(join(root, ROOT_MARKER), formatMarker({ location: 'us-east', deployment: 'other' }))
    await expect(engine.put('blobs/sha256/aa/aa03', body(), { size: 3 })).rejects.toMatchObject({ kind: 'unavailable' })
  })
})
