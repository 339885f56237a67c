// A fixed CPU budget per process, with a Linux cgroup (issue #11's scale-out question on one
// small machine): in production each origin and each worker runs on its own machine with its own
// cores, so "does a second origin add throughput?" means "does it, when it brings its own CPU?".
// Each confined process gets a cgroup of its own under one group per benchmark run
// (`meridian-bench-<pid>`), with `cpus` of a CPU: cgroup v1 `cpu.cfs_quota_us` per
// `cpu.cfs_period_us`, or cgroup v2 `cpu.max` ("<quota> <period>"). Needs root (or a delegated
// hierarchy); where neither version is writable, `openCpuBudgets` says why and nothing is made.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Where the cpu controller is and how it is spelled, or why there is none. */
export type CgroupSupport =
  | { version: 1; dir: string }
  | { version: 2; dir: string }
  | { version: null; reason: string }

/** A group name made by a run of this module: `meridian-bench-<pid of the run>`. */
const GROUP_PREFIX = 'meridian-bench-'

/**
 * The quota and period the kernel is given for `cpus` of a CPU per `periodUs`. The kernel
 * refuses a quota below 1 ms, and a budget is a positive share, so both are checked here rather
 * than met as an EINVAL from a write.
 */
export function cpuQuota(cpus: number, periodUs: number): { quotaUs: number; periodUs: number } {
  if (!(cpus > 0) || !Number.isFinite(cpus)) throw new RangeError(`a CPU budget is a positive number of CPUs, got ${cpus}`)
  if (!Number.isInteger(periodUs) || periodUs < 1000 || periodUs > 1_000_000) throw new RangeError(`a CFS period is 1,000-1,000,000 µs, got ${periodUs}`)
  const quotaUs = Math.round(cpus * periodUs)
  if (quotaUs < 1000) throw new RangeError(`${cpus} CPU per ${periodUs} µs is a quota of ${quotaUs} µs; the kernel's minimum is 1,000 µs (lengthen the period)`)
  return { quotaUs, periodUs }
}

/** Which cgroup version can carry a CPU budget under `root` (normally /sys/fs/cgroup). */
export function detectCgroup(root = '/sys/fs/cgroup'): CgroupSupport {
  // v1 (or hybrid): a mounted cpu controller with CFS bandwidth control.
  const v1 = join(root, 'cpu')
  if (existsSync(join(v1, 'cpu.cfs_quota_us'))) return { version: 1, dir: v1 }
  // v2: unified at the root, the cpu controller available to children.
  const controllers = join(root, 'cgroup.controllers')
  if (existsSync(controllers)) {
    if (readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) return { version: 2, dir: root }
    return { version: null, reason: `cgroup v2 at ${root} offers no cpu controller` }
  }
  const hybrid = join(root, 'unified', 'cgroup.controllers')
  if (existsSync(hybrid) && !readFileSync(hybrid, 'utf8').split(/\s+/).includes('cpu')) {
    return { version: null, reason: `no cgroup v1 cpu controller under ${root}, and the v2 hierarchy at ${join(root, 'unified')} has no cpu controller` }
  }
  return { version: null, reason: `no cgroup cpu controller under ${root}` }
}

export interface CpuBudgets {
  /** "cgroup v1, 10 ms period" (for the notes). */
  describe: string
  periodUs: number
  /** Moves `pid` (all its threads) into a new cgroup `name` limited to `cpus` of a CPU. */
  confine(pid: number, name: string, cpus: number): void
  /**
   * Removes every cgroup this made. A process still inside (a failed run) is moved back to the
   * hierarchy's root first; an exited one may linger a moment as a zombie, hence the retries.
   */
  remove(): Promise<void>
}

/**
 * The budgets of this run, or the reason there can be none (not root, v2 without a cpu
 * controller, ...): the caller prints the reason and skips the capped measurements.
 */
export function openCpuBudgets(o: { periodUs: number; root?: string }): CpuBudgets | { unavailable: string } {
  const support = detectCgroup(o.root)
  if (support.version === null) return { unavailable: support.reason }
  const top = support.dir
  removeStaleGroups(top)
  const group = join(top, `${GROUP_PREFIX}${process.pid}`)
  try {
    mkdirSync(group)
    // v2: the group's children get the cpu controller only if every ancestor hands it down.
    if (support.version === 2) {
      writeFileSync(join(top, 'cgroup.subtree_control'), '+cpu')
      writeFileSync(join(group, 'cgroup.subtree_control'), '+cpu')
    }
  } catch (err) {
    try { rmdirSync(group) } catch { /* never made */ }
    return { unavailable: `cgroup v${support.version} at ${top} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)}; root is needed)` }
  }
  const made: string[] = []
  return {
    describe: `cgroup v${support.version}, ${o.periodUs / 1000} ms period`,
    periodUs: o.periodUs,
    confine(pid, name, cpus) {
      const { quotaUs, periodUs } = cpuQuota(cpus, o.periodUs)
      const dir = join(group, name.replace(/[^\w.-]/g, '_'))
      mkdirSync(dir)
      made.push(dir)
      if (support.version === 1) {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(periodUs))
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs))
      } else {
        writeFileSync(join(dir, 'cpu.max'), `${quotaUs} ${periodUs}`)
      }
      writeFileSync(join(dir, 'cgroup.procs'), String(pid))
    },
    async remove() {
      for (const dir of [...made.reverse(), group]) await removeGroup(top, dir)
      made.length = 0
    },
  }
}

async function removeGroup(top: string, dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (!existsSync(dir)) return
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try { writeFileSync(join(top, 'cgroup.procs'), pid) } catch { /* exited meanwhile */ }
      }
      rmdirSync(dir)
      return
    } catch (err) {
      // EBUSY: a process that just exited is still being reaped.
      if (attempt >= 50) throw new Error(`could not remove cgroup ${dir}: ${String(err)}`, { cause: err })
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

/** Groups left by a run that was killed before its cleanup (its pid no longer exists). */
function removeStaleGroups(top: string): void {
  for (const name of readdirSync(top)) {
    if (!name.startsWith(GROUP_PREFIX)) continue
    const pid = Number(name.slice(GROUP_PREFIX.length))
    if (!Number.isInteger(pid) || existsSync(`/proc/${pid}`)) continue
    const group = join(top, name)
    try {
      for (const child of readdirSync(group, { withFileTypes: true })) if (child.isDirectory()) rmdirSync(join(group, child.name))
      rmdirSync(group)
    } catch {
      // Still holding a process: leave it to its owner.
    }
  }
}
