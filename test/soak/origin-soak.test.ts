// Soak (MERIDIAN_SOAK=1, README "Runtime: Node versions"): the shipped bundles (dist/origin.mjs,
// dist/worker.mjs) run as processes; 20 images are pushed, tens of thousands of GET/HEAD reads
// follow, then forced garbage collections and an idle spell, and both processes must still be
// alive and answering. It guards against the abort better-sqlite3 12 suffers on Node 24 when the
// collector frees prepared statements (issue 12): with that driver it fails, with 13 it passes.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readProcessMemory, spawnOrigin, type OriginProcess } from '../../scripts/bench/origin-process.ts'
import { pushImage, uniqueName } from '../helpers/registry-client.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'

const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..')
const GC_HOOK = pathToFileURL(join(ROOT, 'test', 'soak', 'gc-on-signal.mjs')).href
const NODE_ARGS = ['--expose-gc', '--import', GC_HOOK]
const IMAGES = Number(process.env.MERIDIAN_SOAK_IMAGES ?? 20)
const READS = Number(process.env.MERIDIAN_SOAK_READS ?? 30_000)
const IDLE_MS = Number(process.env.MERIDIAN_SOAK_IDLE_MS ?? 30_000)
const CONCURRENCY = 16

interface Soaked {
  name: string
  pid: number
  stderr(): string
  alive(): boolean
}

interface Image { name: string; tag: string; digest: string; config: string; layer: string }

describe.skipIf(process.env.MERIDIAN_SOAK !== '1')('origin and worker under sustained use (MERIDIAN_SOAK=1)', () => {
  let dataDir: string
  let origin: OriginProcess
  let worker: ChildProcess
  const procs: Soaked[] = []

  beforeAll(async () => {
    const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' })
    if (built.status !== 0) throw new Error('scripts/build.mjs failed')
    dataDir = mkdtempSync(join(tmpdir(), 'meridian-soak-'))
    const databaseUrl = await testDatabaseUrl(dataDir)
    origin = await spawnOrigin({ cwd: ROOT, dataDir, nodeArgs: NODE_ARGS, worker: false, env: { DATABASE_URL: databaseUrl } })
    procs.push({ name: 'origin', pid: origin.pid, stderr: origin.stderr, alive: () => isAlive(origin.pid) })
    worker = await startWorker(dataDir, databaseUrl)
    let workerLog = ''
    worker.stderr!.setEncoding('utf8').on('data', (s: string) => { workerLog = (workerLog + s).slice(-64 * 1024) })
    procs.push({ name: 'worker', pid: worker.pid!, stderr: () => workerLog, alive: () => worker.exitCode === null && worker.signalCode === null })
  }, 120_000)

  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((r) => worker.once('exit', r))
      worker.kill('SIGTERM')
      await exited
    }
    await origin?.stop()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('stays alive and answering after pushes, tens of thousands of reads, forced GC and idle', async () => {
    const started = Date.now()
    const images: Image[] = []
    for (let i = 0; i < IMAGES; i++) images.push(await pushOne(origin.url, i))
    await drained(origin.url, procs)
    const before = procs.map((p) => ({ name: p.name, rssMiB: readProcessMemory(p.pid).rssMiB }))

    const readStart = Date.now()
    const statuses = await readMany(origin.url, images, READS, procs)
    const readSeconds = (Date.now() - readStart) / 1000
    expect(statuses).toEqual({ 200: READS })

    await collectGarbage(procs)
    const idleStart = Date.now()
    while (Date.now() - idleStart < IDLE_MS) {
      expectAlive(procs)
      await sleep(1000)
    }
    await collectGarbage(procs)
    await sleep(2000)
    expectAlive(procs)

    // Still answering: the origin serves reads and takes a push, the worker replicates it.
    expect((await fetch(`${origin.url}/v2/`)).status).toBe(200)
    const res = await fetch(`${origin.url}/v2/${images[0]!.name}/manifests/${images[0]!.tag}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(images[0]!.digest)
    await pushOne(origin.url, IMAGES)
    await drained(origin.url, procs)
    expectAlive(procs)

    const after = procs.map((p) => ({ name: p.name, rssMiB: readProcessMemory(p.pid).rssMiB }))
    const mib = (n: number) => `${n.toFixed(1)} MiB`
    console.log(
      `soak on Node ${process.versions.node}: ${IMAGES + 1} pushes, ${READS} reads in ${readSeconds.toFixed(1)} s ` +
        `(${Math.round(READS / readSeconds)}/s, ${CONCURRENCY} at once), idle ${IDLE_MS / 1000} s, 2 forced GCs per process, ` +
        `total ${((Date.now() - started) / 1000).toFixed(1)} s; RSS before reads -> end: ` +
        before.map((b, i) => `${b.name} ${mib(b.rssMiB)} -> ${mib(after[i]!.rssMiB)}`).join(', '),
    )
  }, 600_000)
})

async function startWorker(dataDir: string, databaseUrl: string): Promise<ChildProcess> {
  const worker = spawn(process.execPath, [...NODE_ARGS, 'dist/worker.mjs'], {
    cwd: ROOT,
    env: { ...process.env, MERIDIAN_CONFIG: join(dataDir, 'bench-config.yaml'), MERIDIAN_DATA_DIR: dataDir, DATABASE_URL: databaseUrl, MERIDIAN_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  await new Promise<void>((resolve, reject) => {
    worker.stdout!.setEncoding('utf8').on('data', (s: string) => { if (s.includes('worker ready')) resolve() })
    worker.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before it was ready`)))
  })
  return worker
}

async function pushOne(url: string, i: number): Promise<Image> {
  const name = uniqueName('soak')
  const tag = `v${i}`
  const descriptor = await pushImage(url, name, tag)
  const manifest = await (await fetch(`${url}/v2/${name}/manifests/${descriptor.digest}`, { headers: { Accept: descriptor.mediaType } })).json() as { config: { digest: string }; layers: { digest: string }[] }
  return { name, tag, digest: descriptor.digest, config: manifest.config.digest, layer: manifest.layers[0]!.digest }
}

/** The kinds of read a pulling client makes, in turn; each answers 200. */
function readRequest(url: string, image: Image, n: number): [string, RequestInit] {
  const accept = { Accept: 'application/vnd.oci.image.manifest.v1+json' }
  switch (n % 5) {
    case 0: return [`${url}/v2/${image.name}/manifests/${image.tag}`, { headers: accept }]
    case 1: return [`${url}/v2/${image.name}/manifests/${image.digest}`, { method: 'HEAD', headers: accept }]
    case 2: return [`${url}/v2/${image.name}/blobs/${image.layer}`, {}]
    case 3: return [`${url}/v2/${image.name}/blobs/${image.config}`, { method: 'HEAD' }]
    default: return [`${url}/v2/${image.name}/tags/list`, {}]
  }
}

async function readMany(url: string, images: Image[], total: number, procs: Soaked[]): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {}
  let next = 0
  const lane = async () => {
    for (let n = next++; n < total; n = next++) {
      const [target, init] = readRequest(url, images[n % images.length]!, Math.floor(n / images.length))
      const res = await fetch(target, init).catch((err: unknown) => {
        throw new Error(`read ${n} failed: ${String(err)}\n${deathNotes(procs)}`)
      })
      await res.arrayBuffer()
      statuses[res.status] = (statuses[res.status] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, lane))
  return statuses
}

/** Replication backlog empty: the worker copied every blob pushed so far. */
async function drained(url: string, procs: Soaked[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    expectAlive(procs)
    const { locations } = await (await fetch(`${url}/admin/replication/backlog`)).json() as { locations: { pending: number; running: number; dead: number }[] }
    expect(locations.reduce((n, l) => n + l.dead, 0)).toBe(0)
    if (locations.every((l) => l.pending + l.running === 0)) return
    if (Date.now() > deadline) throw new Error(`replication backlog not drained: ${JSON.stringify(locations)}`)
    await sleep(200)
  }
}

/** SIGUSR2 to each process (test/soak/gc-on-signal.mjs) and wait for its "GC done" line. */
async function collectGarbage(procs: Soaked[]): Promise<void> {
  for (const p of procs) {
    const done = () => p.stderr().split('soak-gc done').length - 1
    const before = done()
    process.kill(p.pid, 'SIGUSR2')
    const deadline = Date.now() + 15_000
    while (done() === before) {
      expectAlive(procs)
      if (Date.now() > deadline) throw new Error(`${p.name} did not report a forced GC`)
      await sleep(50)
    }
  }
  // Weak callbacks and native destructors may run just after the collection: give them a moment.
  await sleep(500)
  expectAlive(procs)
}

function expectAlive(procs: Soaked[]): void {
  const dead = procs.filter((p) => !p.alive())
  if (dead.length > 0) throw new Error(`process died:\n${deathNotes(procs)}`)
}

function deathNotes(procs: Soaked[]): string {
  return procs.filter((p) => !p.alive()).map((p) => `${p.name} (pid ${p.pid}) is gone; its stderr ends:\n${p.stderr().slice(-2000)}`).join('\n')
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
