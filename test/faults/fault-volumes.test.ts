// The fault tests' tmpfs volumes are unmounted on every way out (test/faults/fault-volumes.ts):
// when the origin fails to start after they were mounted (how a run left 17 bases mounted), when
// closing the origin throws, when a test times out, when a signal stops the worker, and, for a
// worker killed outright, by the sweep at the next env's start, which never touches a live
// process's volumes.

import { execFile, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BASE_PREFIX, createBase, mountsUnder, mountVolumes, sweepStaleBases, type Volumes } from './fault-volumes.ts'
import { canMount, startFaultEnv } from './storage-fault-kit.ts'

const ROOT = resolve(import.meta.dirname, '../..')

/** A child process that mounts two volumes in `parent` and waits; resolves with it and its base. */
async function mountingChild(parent: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/faults/fault-volumes-child.ts', parent], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const base = await new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout! }).once('line', ok)
    child.once('exit', (code) => fail(new Error(`the child exited (${code}) before mounting`)))
  })
  const exited = new Promise<NodeJS.Signals | null>((ok) => child.once('exit', (_, signal) => ok(signal)))
  return { child, base, exited }
}

/** This process's bases in the temp dir (what startFaultEnv made and did not remove). */
const ownBases = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`${BASE_PREFIX}${process.pid}-`)).map((n) => join(tmpdir(), n))

describe.skipIf(!canMount)('fault volumes are unmounted on every way out', () => {
  let parent: string
  beforeAll(() => { parent = mkdtempSync(join(tmpdir(), 'meridian-volumes-test-')) })
  afterAll(() => {
    // Whatever a failed test left: unmounted before removing, never rm -r across a mount.
    if (!parent) return
    for (const point of mountsUnder(parent).reverse()) { try { execFileSync('umount', ['-l', point]) } catch { /* gone */ } }
    if (mountsUnder(parent).length === 0) rmSync(parent, { recursive: true, force: true })
  })

  it('sweeps the volumes of a process that is gone, and leaves a live process\'s alone', async () => {
    const live: Volumes = await mountVolumes(['a', 'b'], '1m', parent)
    try {
      const dead = await mountingChild(parent)
      expect(mountsUnder(dead.base)).toHaveLength(4)
      dead.child.kill('SIGKILL')
      expect(await dead.exited).toBe('SIGKILL')
      expect(mountsUnder(dead.base), 'a SIGKILLed process cleans nothing').toHaveLength(4)
      // Its pid now names another process (a reused pid): not the owner, so stale too.
      const reused = createBase(parent)
      writeFileSync(join(reused, 'owner.json'), JSON.stringify({ pid: process.pid, start: 'another start time' }))
      mkdirSync(join(reused, 'disk'))
      await promisify(execFile)('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', join(reused, 'disk')])
      // Another test's directory under the same prefix, no pid in its name and nothing mounted.
      const other = mkdtempSync(join(parent, `${BASE_PREFIX}eacces-`))

      expect(sweepStaleBases(parent).sort()).toEqual([dead.base, reused].sort())
      for (const gone of [dead.base, reused]) {
        expect(mountsUnder(gone), gone).toEqual([])
        expect(existsSync(gone), gone).toBe(false)
      }
      expect(mountsUnder(live.base)).toHaveLength(4)
      expect(readFileSync(join(live.base, 'owner.json'), 'utf8')).toContain(`"pid":${process.pid}`)
      expect(existsSync(other)).toBe(true)
    } finally {
      await live.release()
    }
    expect(mountsUnder(live.base)).toEqual([])
    expect(existsSync(live.base)).toBe(false)
  })

  it('a process stopped by SIGTERM (how vitest stops its workers) unmounts its volumes before it dies', async () => {
    const { child, base, exited } = await mountingChild(parent)
    expect(mountsUnder(base)).toHaveLength(4)
    child.kill('SIGTERM')
    expect(await exited, 'it still dies of the signal').toBe('SIGTERM')
    expect(mountsUnder(base)).toEqual([])
    expect(existsSync(base)).toBe(false)
  })

  it('unmounts the volumes when the origin fails to start after they were mounted', async () => {
    const before = ownBases()
    // The database cannot be opened (its directory is a file), as the run that left 17 bases
    // mounted could not load its SQLite driver.
    writeFileSync(join(parent, 'not-a-dir'), '')
    const failing = startFaultEnv({ configure: (config) => ({ ...config, databaseUrl: `sqlite:${join(parent, 'not-a-dir', 'meridian.db')}` }) })
    await expect(failing).rejects.toThrow()
    expect(ownBases()).toEqual(before)
    expect(mountsUnder(tmpdir()).filter((p) => p.includes(`/${BASE_PREFIX}${process.pid}-`))).toEqual([])
  })

  it('close() unmounts the volumes even when closing the origin throws', async () => {
    const env = await startFaultEnv()
    const origin = env.origin
    env.origin = { ...origin, close: async () => { throw new Error('the origin would not close') } }
    try {
      await expect(env.close()).rejects.toThrow('the origin would not close')
      expect(mountsUnder(env.base)).toEqual([])
      expect(existsSync(env.base)).toBe(false)
    } finally {
      await origin.close()
    }
  })

  it('a test that times out with its env open, its own code still waiting, leaves no volume mounted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-volumes-timeout-'))
    try {
      writeFileSync(join(dir, 'vitest.config.mjs'), 'export default { test: { include: ["test/faults/fault-env-timeout.fixture.ts"] } }\n')
      const report = join(dir, 'report.json')
      await promisify(execFile)(process.execPath, [
        join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', ROOT, '--config', join(dir, 'vitest.config.mjs'), '--reporter=json', `--outputFile=${report}`,
      ], { cwd: ROOT, maxBuffer: 16 << 20 }).catch(() => { /* the first test fails, by design */ })
      const tests = JSON.parse(readFileSync(report, 'utf8')).testResults[0].assertionResults as Array<{ title: string; status: string; duration: number }>
      expect(tests.map((t) => [t.title, t.status])).toEqual([
        ['times out with its env open', 'failed'],
        ['finds the volumes of the test that timed out unmounted', 'passed'],
      ])
      // Failed by its timeout (10 s), not earlier on an error of its own.
      expect(tests[0]!.duration).toBeGreaterThanOrEqual(10_000)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
