// Real storage faults under a real origin on loopback (test/faults/storage-faults-*.test.ts). Each
// local-disk location lives on a volume of its own: a tmpfs (so it can really fill up) bind-mounted
// where the location's root directory sits (so it can be really unmounted, remounted read-only, or
// covered by another volume). Faults are the kernel's own errors, produced as an operator would meet them:
//   read-only    mount -o remount,bind,ro            EROFS on every write
//   no-permission chattr +i on the root's .tmp        EPERM (the tests run as root, and root ignores
//                                                     mode bits: EACCES needs another uid, see
//                                                     storage-faults-clients.test.ts)
//   full         a filler file takes the tmpfs      ENOSPC
//   not-a-dir    .tmp and blobs replaced by files    ENOTDIR on writes and reads
//   unmounted    umount of the volume               the root (a directory on it) is missing
//   renamed      mv root root.moved                 the root is missing
//   foreign      another location's volume mounted  the marker names another deployment
// Needs root (mount); the suites skip themselves elsewhere. Mounting, unmounting on every way out,
// and the sweep of volumes left by dead runs: fault-volumes.ts.

import { execFileSync } from 'node:child_process'
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, onTestFinished } from 'vitest'
import { loadConfig } from '../../origin/config/load.ts'
import type { MeridianConfig } from '../../origin/config/types.ts'
import { startOriginServer, type OriginServer } from '../../origin/server.ts'
import type { Logger } from '../../origin/log.ts'
import { placements } from '../../db/schema.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'
import { at, bytesOf, closeUpload, openUpload, patchChunk, randomBytes, sha256, streamOf, utf8, imageManifest, pushManifest, OCI_LAYER, type Bytes, type Descriptor } from '../helpers/registry-client.ts'
import { fastRetries, fsLocation, placementProblems, waitForReplication } from '../helpers/replication.ts'
import { createBase, mountVolumes, releaseBaseSync, type Volume } from './fault-volumes.ts'

const run = (cmd: string, ...args: string[]): void => { execFileSync(cmd, args, { stdio: 'pipe' }) }

/** Whether this sandbox lets the tests mount (root in a mount namespace that allows tmpfs + bind). */
export const canMount = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  let base: string | null = null
  try {
    base = createBase()
    run('mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', base)
    return true
  } catch {
    return false
  } finally {
    try { if (base) releaseBaseSync(base) } catch { /* left for the next sweep */ }
  }
})()

export type FaultName = 'read-only' | 'no-permission' | 'full' | 'not-a-dir' | 'unmounted' | 'renamed' | 'foreign'

/** Faults that leave the location's bytes readable (only writes fail). */
export const WRITE_ONLY_FAULTS: FaultName[] = ['read-only', 'no-permission', 'full']

export type { Volume }

export interface FaultEnv {
  base: string
  volumes: Map<string, Volume>
  origin: OriginServer
  config: MeridianConfig
  logs: Array<{ level: string; msg: string; fields: Record<string, unknown> }>
  restart(): Promise<void>
  close(): Promise<void>
}

const VOLUME_SIZE = '24m'

export interface FaultEnvOptions {
  preference?: string[]
  /** Changes the origin's configuration before it starts (a test of the kit breaks the start with it). */
  configure?: (config: MeridianConfig) => MeridianConfig
}

/**
 * Two fs locations a (preferred) and b, both default targets, each on its own volume. Whatever
 * fails once the volumes are mounted unmounts them; close() always unmounts, even when closing
 * the origin throws; and inside a test, the env is closed when the test ends, even by a timeout
 * that leaves the test's own code (and its finally) still waiting.
 */
export async function startFaultEnv(options: FaultEnvOptions = {}): Promise<FaultEnv> {
  const { base, volumes, release } = await mountVolumes(['a', 'b'], VOLUME_SIZE)
  let env: FaultEnv
  let closed: Promise<void> | null = null
  try {
    const logs: FaultEnv['logs'] = []
    const record = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => { logs.push({ level, msg, fields }) }
    const log: Logger = { debug() {}, info: record('info'), warn: record('warn'), error: record('error') }
    const DATABASE_URL = await testDatabaseUrl(join(base, 'data'))
    let { config } = loadConfig({ MERIDIAN_DATA_DIR: join(base, 'data'), MERIDIAN_ORIGIN_PORT: '0', MERIDIAN_AUTH: 'off', DATABASE_URL })
    config = fastRetries({
      ...config,
      locations: [...volumes.values()].map((v, i) => ({ ...fsLocation(config, v.id, { lat: i * 10, lon: 0 }), params: { root: v.root } })),
      preference: options.preference ?? ['a', 'b'],
    }, { maxAttempts: 1000 })
    config = options.configure?.(config) ?? config
    const start = () => startOriginServer(config, { log, graceMs: 200, worker: true, locationDownSeconds: 1 })
    // False between a restart's close and its start: a start that failed leaves nothing to close.
    let running = true
    env = {
      base, volumes, config, logs,
      origin: await start(),
      async restart() {
        running = false
        await env.origin.close()
        env.origin = await start()
        running = true
      },
      close() {
        closed ??= (async () => {
          try {
            if (running) await env.origin.close()
          } finally {
            for (const v of volumes.values()) {
              try { run('chattr', '-i', join(v.disk, 'registry', '.tmp')) } catch { /* not set */ }
            }
            await release()
          }
        })()
        return closed
      },
    }
  } catch (err) {
    await release()
    throw err
  }
  // Only if the test has not closed it: a close that threw was already the test's to report.
  try { onTestFinished(() => closed ? undefined : env.close()) } catch { /* not inside a test (a beforeAll): its caller closes it */ }
  return env
}

/**
 * Unmounts `path`, retrying while the kernel says it is busy: the origin (in this process) keeps
 * reading the marker there, and a read in flight holds the mount for a moment. The wait must let
 * the event loop run, or that read never finishes. After 5 s, a lazy unmount, as an operator would.
 */
async function unmountWhenIdle(path: string): Promise<void> {
  for (let attempt = 1; attempt <= 100; attempt++) {
    try {
      run('umount', path)
      return
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  run('umount', '-l', path)
}

/** Breaks location `id` the way `fault` says; returns the repair. */
export function injectFault(env: FaultEnv, id: string, fault: FaultName): () => void | Promise<void> {
  const v = env.volumes.get(id)!
  switch (fault) {
    case 'read-only':
      run('mount', '-o', 'remount,bind,ro', v.mount)
      return () => run('mount', '-o', 'remount,bind,rw', v.mount)
    case 'no-permission':
      run('chattr', '+i', join(v.root, '.tmp'))
      return () => run('chattr', '-i', join(v.root, '.tmp'))
    case 'full': {
      const filler = join(v.disk, 'filler')
      try { run('dd', 'if=/dev/zero', `of=${filler}`, 'bs=1M', 'count=64') } catch { /* ENOSPC: full, as meant */ }
      return () => rmSync(filler)
    }
    case 'not-a-dir': {
      for (const dir of ['.tmp', 'blobs']) {
        renameSync(join(v.root, dir), join(v.root, `${dir}.moved`))
        writeFileSync(join(v.root, dir), 'not a directory\n')
      }
      return () => {
        for (const dir of ['.tmp', 'blobs']) {
          rmSync(join(v.root, dir))
          renameSync(join(v.root, `${dir}.moved`), join(v.root, dir))
        }
      }
    }
    case 'unmounted':
      run('umount', v.mount)
      return () => run('mount', '--bind', v.disk, v.mount)
    case 'renamed':
      renameSync(v.root, `${v.root}.moved`)
      return () => renameSync(`${v.root}.moved`, v.root)
    case 'foreign': {
      // Another deployment's volume for a location of the same name, with its own marker.
      const other = join(env.base, `foreign-${id}`)
      mkdirSync(join(other, 'registry', 'blobs'), { recursive: true })
      writeFileSync(join(other, 'registry', '.meridian-location'), `${JSON.stringify({ meridian: 'location-root', location: id, deployment: 'another-deployment' })}\n`)
      run('mount', '--bind', other, v.mount)
      return () => unmountWhenIdle(v.mount)
    }
  }
}

export interface PushedImage {
  name: string
  tag: string
  manifest: Descriptor
  blobs: Array<{ digest: string; bytes: Bytes }>
}

async function ok(res: Response, status: number, what: string): Promise<Response> {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${await res.text()}`)
  return res
}

/**
 * One image whose three blobs take the three push paths clients use: monolithic (POST ?digest=),
 * chunked (PATCH with Content-Range, twice), streamed (one PATCH without Content-Range, chunked
 * transfer encoding, as docker and containerd send layers); then the manifest.
 */
export async function pushMixedImage(url: string, name: string, tag: string): Promise<PushedImage> {
  const config = utf8(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: Math.random() }))
  const chunked = randomBytes(300_000)
  const streamed = randomBytes(200_000)
  const monolithic = await fetch(at(url, `/v2/${name}/blobs/uploads/?digest=${sha256(config)}`), { method: 'POST', body: config })
  await ok(monolithic, 201, `monolithic push of ${name}`)
  let upload = await openUpload(url, name)
  for (const start of [0, 150_000]) {
    const res = await patchChunk(upload, chunked.subarray(start, start + 150_000), start)
    upload = at(url, (await ok(res, 202, `chunk ${start} of ${name}`)).headers.get('location')!)
  }
  await ok(await closeUpload(upload, sha256(chunked)), 201, `close chunked upload in ${name}`)
  upload = await openUpload(url, name)
  const res = await fetch(upload, { method: 'PATCH', body: streamOf(streamed.subarray(0, 100_000), streamed.subarray(100_000)), duplex: 'half' } as RequestInit)
  upload = at(url, (await ok(res, 202, `streamed upload in ${name}`)).headers.get('location')!)
  await ok(await closeUpload(upload, sha256(streamed)), 201, `close streamed upload in ${name}`)
  const layers = [chunked, streamed].map((b) => ({ mediaType: OCI_LAYER, digest: sha256(b), size: b.byteLength }))
  const { response: _, ...manifest } = await pushManifest(url, name, tag, imageManifest({ mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.byteLength }, layers))
  return { name, tag, manifest, blobs: [config, chunked, streamed].map((bytes) => ({ digest: sha256(bytes), bytes })) }
}

/** Pulls the image by tag, then every blob, and checks every byte. */
export async function expectPull(url: string, image: PushedImage): Promise<void> {
  const manifest = await ok(await fetch(at(url, `/v2/${image.name}/manifests/${image.tag}`), { headers: { Accept: image.manifest.mediaType } }), 200, `pull manifest of ${image.name}`)
  expect(sha256(await bytesOf(manifest))).toBe(image.manifest.digest)
  for (const blob of image.blobs) {
    const res = await ok(await fetch(at(url, `/v2/${image.name}/blobs/${blob.digest}`)), 200, `pull blob ${blob.digest} of ${image.name}`)
    expect(sha256(await bytesOf(res)), `${image.name} ${blob.digest}`).toBe(blob.digest)
  }
}

/** A metric's value from /metrics (0 when the series is absent). */
export async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(at(url, '/metrics'))).text()
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line ? Number(line.slice(series.length + 1)) : 0
}

/** Where each digest of `images` (manifests and blobs) is present. */
export async function whereIs(env: FaultEnv, images: PushedImage[]): Promise<Map<string, string[]>> {
  const digests = images.flatMap((image) => [image.manifest.digest, ...image.blobs.map((b) => b.digest)])
  return new Map(await Promise.all(digests.map(async (d) => [d, await presentIn(env, d)] as const)))
}

/** The locations where `digest` is present, sorted. */
export async function presentIn(env: FaultEnv, digest: string): Promise<string[]> {
  return (await env.origin.db.select().from(placements).all()).filter((r) => r.digest === digest && r.state === 'present').map((r) => r.location).sort()
}

/** Placements marked missing (the origin found their bytes gone or bad). */
export async function missingPlacements(env: FaultEnv) {
  return (await env.origin.db.select().from(placements).all()).filter((p) => p.state !== 'present')
}

/** No placement marked missing, and every present placement's bytes check out. */
export async function expectNoPlacementLost(env: FaultEnv): Promise<void> {
  expect(await missingPlacements(env), 'placements marked missing').toEqual([])
  expect(await placementProblems(env.origin.db, env.origin.locations)).toEqual([])
}

/** Waits until the origin takes writes in `id` again (its own write probe, not the test's word). */
export async function waitUntilWritable(env: FaultEnv, id: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await env.origin.locations.probe(id))) {
    if (Date.now() > deadline) throw new Error(`${id} still refuses writes after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export { waitForReplication }
