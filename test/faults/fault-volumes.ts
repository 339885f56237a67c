// The tmpfs volumes of the storage-fault tests (storage-fault-kit.ts), and their cleanup on every
// way out. A run once left 17 /tmp/meridian-faults-* directories with their four mounts each: the
// origin failed to start (its SQLite driver would not load) after the volumes were mounted, and
// the env that knew how to unmount them was never returned. So:
//   - whoever mounts unmounts when what follows fails (mountVolumes, startFaultEnv), and the
//     env's close() unmounts even when closing the origin throws;
//   - a test that times out (its own code, finally included, still waiting) has its env closed
//     when vitest ends the test (onTestFinished, in startFaultEnv);
//   - unmounting lists the mounts still under the base (/proc/self/mountinfo) instead of assuming
//     which are there, and the base is removed only once none is left;
//   - a worker stopped by a signal (vitest stops its forks with SIGTERM, Ctrl-C sends SIGINT)
//     lazily unmounts its live volumes before it dies;
//   - nothing runs in a SIGKILLed or crashed worker (nor in one stuck in a synchronous loop, which
//     vitest SIGKILLs 0.5 s after its SIGTERM), so every new env first sweeps the bases whose
//     creating process is gone. Each base is named meridian-faults-<pid>-XXXXXX and holds an owner
//     file (pid and the process's start time, so a reused pid is not taken for the owner); several
//     workers run these tests at once, and a live run's volumes are never touched.

import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const run = (cmd: string, ...args: string[]): void => { execFileSync(cmd, args, { stdio: 'pipe' }) }

export const BASE_PREFIX = 'meridian-faults-'
const OWNER_FILE = 'owner.json'
/** A base named by code from before owner files (no pid): stale once older than any test can run. */
const UNOWNED_STALE_MS = 60 * 60_000

export interface Owner { pid: number; start: string }

/** The kernel's start time of `pid` (clock ticks since boot), or null when there is no such process. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 22; the command name (field 2, in parentheses) may hold spaces, so count after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

/** A new, empty base for volumes, owned by this process. */
export function createBase(parent = tmpdir()): string {
  const base = mkdtempSync(join(parent, `${BASE_PREFIX}${process.pid}-`))
  writeFileSync(join(base, OWNER_FILE), JSON.stringify({ pid: process.pid, start: processStart(process.pid) ?? '' }))
  return base
}

/** Mount points at or under `dir`, in the order they were mounted (so unmount them in reverse). */
export function mountsUnder(dir: string): string[] {
  const decode = (path: string) => path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
    .map((line) => decode(line.split(' ')[4]!))
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
}

/** One pass over the mounts under `base`, newest first; `lazy` detaches busy ones (umount -l). */
function unmountPass(base: string, lazy: boolean): void {
  for (const point of mountsUnder(base).reverse()) {
    try { run('umount', ...(lazy ? ['-l'] : []), point) } catch { /* busy, or gone already: the next pass sees */ }
  }
}

/**
 * Unmounts everything under `base` and removes it. Waits (letting the event loop run, so reads in
 * flight in this process can finish) up to `patienceMs` for busy mounts, then detaches them lazily.
 */
export async function releaseBase(base: string, patienceMs = 5_000): Promise<void> {
  const deadline = Date.now() + patienceMs
  while (mountsUnder(base).length > 0 && Date.now() < deadline) {
    unmountPass(base, false)
    if (mountsUnder(base).length > 0) await new Promise((r) => setTimeout(r, 50))
  }
  releaseBaseSync(base)
}

/** The same without waiting (signal handlers, sweeps): lazy unmounts, then the directory. */
export function releaseBaseSync(base: string): void {
  for (let pass = 0; pass < 5 && mountsUnder(base).length > 0; pass++) unmountPass(base, pass > 0)
  const left = mountsUnder(base)
  // Never rm -r across a mount: it would empty a volume instead of removing a directory.
  if (left.length > 0) throw new Error(`still mounted under ${base}: ${left.join(', ')}`)
  rmSync(base, { recursive: true, force: true })
}

// The bases this process has live, released if the process ends (a signal, or an exit with a test
// still running past its timeout) before their owners release them.
const live = new Set<string>()
const SIGNALS = ['SIGTERM', 'SIGINT'] as const

function releaseLive(): void {
  for (const base of live) { try { releaseBaseSync(base) } catch { /* the next sweep finishes it */ } }
  live.clear()
  listen(false)
}

function onSignal(signal: NodeJS.Signals): void {
  releaseLive()
  // Die of the signal as if no handler had been there (unless someone else handles it).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

function listen(on: boolean): void {
  for (const s of SIGNALS) on ? process.on(s, onSignal) : process.off(s, onSignal)
  on ? process.on('exit', releaseLive) : process.off('exit', releaseLive)
}

/** Tracks `base` until `untrack`: if the process ends meanwhile, it is unmounted first. */
export function trackBase(base: string): () => void {
  if (live.size === 0) listen(true)
  live.add(base)
  return () => {
    if (live.delete(base) && live.size === 0) listen(false)
  }
}

function readOwner(base: string, name: string): Owner | null {
  try {
    const owner = JSON.parse(readFileSync(join(base, OWNER_FILE), 'utf8')) as Owner
    if (Number.isInteger(owner.pid)) return owner
  } catch { /* not written yet, or from before owner files: the name says the pid */ }
  const pid = /^meridian-faults-(\d+)-[^-]+$/.exec(name)?.[1]
  return pid ? { pid: Number(pid), start: '' } : null
}

/** Whether the process that made a base is gone (a pid now used by another process counts as gone). */
export function ownerGone(owner: Owner): boolean {
  const start = processStart(owner.pid)
  return start === null || (owner.start !== '' && start !== owner.start)
}

/**
 * Unmounts and removes the bases in `parent` whose creating process is gone; returns them. Bases
 * of live processes are left alone; so are other tests' meridian-faults-<word>-* directories (no
 * pid in the name) unless they hold mounts and are older than any test runs.
 */
export function sweepStaleBases(parent = tmpdir()): string[] {
  const swept: string[] = []
  let names: string[]
  try { names = readdirSync(parent).filter((n) => n.startsWith(BASE_PREFIX)) } catch { return swept }
  for (const name of names) {
    const base = join(parent, name)
    try {
      const owner = readOwner(base, name)
      const stale = owner
        ? ownerGone(owner)
        : mountsUnder(base).length > 0 && Date.now() - statSync(base).mtimeMs > UNOWNED_STALE_MS
      if (!stale) continue
      releaseBaseSync(base)
      swept.push(base)
    } catch { /* another worker sweeps it at the same moment, or it resists: left for the next sweep */ }
  }
  return swept
}

export interface Volume {
  id: string
  /** The tmpfs: the location's data, whatever is mounted at `mount`. */
  disk: string
  /** Where the volume is mounted: a bind mount of `disk`. */
  mount: string
  /** The location's root, a directory on the volume. */
  root: string
}

export interface Volumes {
  base: string
  volumes: Map<string, Volume>
  /** Unmounts every volume (and whatever a fault mounted over one) and removes the base; once. */
  release(): Promise<void>
}

/**
 * A fresh base with one volume per id: a tmpfs of `size` bind-mounted where the location's root sits.
 * Sweeps stale bases first. If a mount fails, what was mounted is released before the error is thrown.
 */
export async function mountVolumes(ids: string[], size: string, parent = tmpdir()): Promise<Volumes> {
  const swept = sweepStaleBases(parent)
  if (swept.length > 0) console.warn(`storage-fault tests: unmounted the volumes of runs that are gone: ${swept.join(', ')}`)
  const base = createBase(parent)
  const untrack = trackBase(base)
  let released: Promise<void> | null = null
  const release = () => released ??= releaseBase(base).finally(untrack)
  try {
    const volumes = new Map(ids.map((id) => {
      const disk = join(base, `disk-${id}`)
      const mount = join(base, `mnt-${id}`)
      mkdirSync(disk)
      mkdirSync(mount)
      run('mount', '-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', disk)
      run('mount', '--bind', disk, mount)
      return [id, { id, disk, mount, root: join(mount, 'registry') }] as const
    }))
    return { base, volumes, release }
  } catch (err) {
    await release()
    throw err
  }
}
