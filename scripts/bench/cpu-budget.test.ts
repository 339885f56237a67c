// The CPU budgets of the scale benchmark: the quota arithmetic, which cgroup layout is detected
// (on fake hierarchies in a temp dir), and, where this machine lets a test make cgroups (root,
// a cpu controller), that a confined busy process really gets no more than its budget and that
// nothing is left behind.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cpuQuota, detectCgroup, openCpuBudgets } from './cpu-budget.ts'
import { readCpuSeconds } from './origin-process.ts'

const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })
function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'meridian-cgroup-'))
  dirs.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

describe('cpuQuota', () => {
  it('gives the share of each period as a quota in microseconds', () => {
    expect(cpuQuota(0.3, 10_000)).toEqual({ quotaUs: 3000, periodUs: 10_000 })
    expect(cpuQuota(0.15, 100_000)).toEqual({ quotaUs: 15_000, periodUs: 100_000 })
  })

  it('refuses what the kernel would refuse: a quota under 1 ms, a period out of range, no budget', () => {
    expect(() => cpuQuota(0.05, 10_000)).toThrow(/minimum is 1,000/)
    expect(() => cpuQuota(0.3, 500)).toThrow(RangeError)
    expect(() => cpuQuota(0, 10_000)).toThrow(RangeError)
    expect(() => cpuQuota(Number.NaN, 10_000)).toThrow(RangeError)
  })
})

describe('detectCgroup', () => {
  it('finds a cgroup v1 cpu controller with CFS bandwidth control', () => {
    const root = fakeRoot({ 'cpu/cpu.cfs_quota_us': '-1\n', 'unified/cgroup.controllers': '\n' })
    expect(detectCgroup(root)).toEqual({ version: 1, dir: join(root, 'cpu') })
  })

  it('finds cgroup v2 when the unified root offers the cpu controller', () => {
    const root = fakeRoot({ 'cgroup.controllers': 'cpuset cpu io memory pids\n' })
    expect(detectCgroup(root)).toEqual({ version: 2, dir: root })
  })

  it('says why when v2 has no cpu controller, or the hybrid v2 mount has none and v1 has no cpu', () => {
    expect(detectCgroup(fakeRoot({ 'cgroup.controllers': 'cpuset io memory\n' }))).toMatchObject({ version: null, reason: expect.stringMatching(/no cpu controller/) })
    expect(detectCgroup(fakeRoot({ 'unified/cgroup.controllers': '\n' }))).toMatchObject({ version: null, reason: expect.stringMatching(/unified has no cpu controller/) })
    expect(detectCgroup(fakeRoot({}))).toMatchObject({ version: null })
  })
})

const real = detectCgroup()
const canConfine = real.version !== null && process.getuid?.() === 0

describe.skipIf(!canConfine)('openCpuBudgets on this machine', () => {
  it('holds a busy process to its budget and removes its cgroups afterwards', async () => {
    const budgets = openCpuBudgets({ periodUs: 10_000 })
    if ('unavailable' in budgets) throw new Error(budgets.unavailable)
    const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
    try {
      budgets.confine(child.pid!, 'spin', 0.1)
      const before = readCpuSeconds(child.pid!)
      await new Promise((r) => setTimeout(r, 1500))
      const used = readCpuSeconds(child.pid!) - before
      // Unconfined, the loop takes a whole core (at least a third of one on a busy 2-core box).
      expect(used).toBeGreaterThan(0.02)
      expect(used).toBeLessThan(0.1 * 1.5 + 0.06)
    } finally {
      child.kill('SIGKILL')
      await once(child, 'exit')
      await budgets.remove()
    }
    expect(existsSync(join(real.version !== null ? real.dir : '', `meridian-bench-${process.pid}`))).toBe(false)
  })
})
