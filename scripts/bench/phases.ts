// The benchmark's measurements, one function per phase. Each phase starts its own server process
// (a fresh origin has a meaningful VmHWM), and removes its data when done unless `keep`.

import { readdirSync, rmSync, statSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { MiB, digestPayload, payloadChunks } from './payload.ts'
import { baselineRead, baselineWrite } from './baseline.ts'
import { spawnCeiling, spawnOrigin, sampleRss, type OriginProcess } from './origin-process.ts'
import { curlPull, pullBlob, pushBlob } from './registry-client.ts'

export interface BenchContext {
  repoRoot: string
  /** Temp directory on the same filesystem as every data dir. */
  root: string
  sizeMiB: number
  smallMiB: number
  runs: number
  nodeArgs: string[]
  /** Another origin bundle to measure (--origin-entry): an older build, a variant. */
  entry?: string
  worker: boolean
  keep: boolean
  log(line: string): void
  /** The server process now running, so an interrupted run can stop it. */
  track(server: OriginProcess | null): void
}

const REPOSITORY = 'bench/blob'

/** Writes back dirty pages so one phase's writeback does not slow the next one down. */
function settle() {
  spawnSync('sync')
}

/** The stored file of a digest under a data dir (whatever location took the push). */
function storedFile(dataDir: string, hex: string): string {
  const walk = (dir: string): string | null => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isFile() && entry.name === hex) return path
      if (entry.isDirectory()) { const found = walk(path); if (found) return found }
    }
    return null
  }
  const found = walk(dataDir)
  if (!found) throw new Error(`stored blob ${hex} not found under ${dataDir}`)
  return found
}

/** Starts a server, tracks it (so an interrupted run stops it), stops it and removes its data. */
export async function withServer<T>(ctx: BenchContext, start: () => Promise<OriginProcess>, use: (server: OriginProcess) => Promise<T>): Promise<T> {
  const server = await start()
  ctx.track(server)
  try {
    return await use(server)
  } finally {
    await server.stop()
    ctx.track(null)
    if (!ctx.keep) rmSync(server.dataDir, { recursive: true, force: true })
  }
}

const origin = (ctx: BenchContext, name: string) => () =>
  spawnOrigin({ cwd: ctx.repoRoot, dataDir: join(ctx.root, name), nodeArgs: ctx.nodeArgs, worker: ctx.worker, entry: ctx.entry })

/** One push, with the server's RSS sampled throughout, its VmHWM read right after, and its CPU. */
async function measuredPush(server: OriginProcess, digest: string, size: number, seed: number) {
  const sampler = sampleRss(server.pid)
  const cpu = server.cpuSeconds()
  const timing = await pushBlob(server.url, REPOSITORY, digest, payloadChunks({ size, seed })).finally(() => sampler.stop())
  return { ...timing, cpuSeconds: server.cpuSeconds() - cpu, sampledMaxRssMiB: sampler.stop().maxMiB, hwmMiB: server.memory().hwmMiB }
}

async function measuredPull(server: OriginProcess, digest: string, size: number, client: 'node' | 'curl') {
  const cpu = server.cpuSeconds()
  const pull = client === 'node' ? await pullBlob(server.url, REPOSITORY, digest) : await curlPull(server.url, REPOSITORY, digest)
  if (pull.bytes !== size) throw new Error(`pull returned ${pull.bytes} bytes, expected ${size}`)
  return { seconds: pull.seconds, cpuSeconds: server.cpuSeconds() - cpu }
}

/** A fresh origin, one push of the small size: its peak next to the large push's peak. */
export async function memoryAtSmallSize(ctx: BenchContext) {
  const size = ctx.smallMiB * MiB
  const { digest } = digestPayload({ size, seed: 1000 })
  return withServer(ctx, origin(ctx, 'origin-small'), async (server) => {
    const idle = server.memory()
    settle()
    ctx.log(`push ${ctx.smallMiB} MiB (fresh origin, pid ${server.pid}, idle RSS ${idle.rssMiB.toFixed(1)} MiB)`)
    const push = await measuredPush(server, digest, size, 1000)
    return { sizeMiB: ctx.smallMiB, idleRssMiB: idle.rssMiB, ...push }
  })
}

/** Pushes (each next to a raw write of the same bytes), then pulls (each next to a raw read). */
export async function largeBlob(ctx: BenchContext, curl: boolean) {
  const size = ctx.sizeMiB * MiB
  const baselinePath = join(ctx.root, 'baseline.bin')
  return withServer(ctx, origin(ctx, 'origin-large'), async (server) => {
    const idle = server.memory()
    const pushes = []
    const digests: string[] = []
    for (let run = 0; run < ctx.runs; run++) {
      settle()
      ctx.log(`run ${run + 1}/${ctx.runs}: baseline write + sha256 + fsync, ${ctx.sizeMiB} MiB`)
      const base = await baselineWrite(baselinePath, { size, seed: run })
      rmSync(baselinePath)
      settle()
      ctx.log(`run ${run + 1}/${ctx.runs}: push ${ctx.sizeMiB} MiB (POST, streamed PATCH, PUT)`)
      pushes.push({ ...(await measuredPush(server, base.digest, size, run)), baselineSeconds: base.seconds })
      digests.push(base.digest)
    }
    const afterPushes = server.memory()
    settle()
    // Untimed: proves the bytes came back intact, and warms the page cache for both readers.
    const check = await pullBlob(server.url, REPOSITORY, digests[0], { verify: true })
    if (check.digest !== digests[0] || check.bytes !== size) throw new Error(`pulled ${check.bytes} bytes with ${check.digest}, expected ${digests[0]}`)
    const file = storedFile(server.dataDir, digests[0].slice('sha256:'.length))
    if (statSync(file).size !== size) throw new Error(`stored file ${file} has the wrong size`)
    await baselineRead(file)
    const pulls = []
    const curlPulls = []
    for (let run = 0; run < ctx.runs; run++) {
      ctx.log(`run ${run + 1}/${ctx.runs}: raw read + pull of ${ctx.sizeMiB} MiB`)
      const raw = await baselineRead(file)
      pulls.push({ ...(await measuredPull(server, digests[0], size, 'node')), baselineSeconds: raw.seconds })
      if (curl) curlPulls.push(await measuredPull(server, digests[0], size, 'curl'))
    }
    const afterPulls = server.memory()
    return { sizeMiB: ctx.sizeMiB, digests, idleRssMiB: idle.rssMiB, pushes, pulls, curlPulls, hwmAfterPushesMiB: afterPushes.hwmMiB, hwmAfterPullsMiB: afterPulls.hwmMiB }
  })
}

/** The same pushes and pulls against scripts/bench/ceiling-server.ts (plain node:http). */
export async function reference(ctx: BenchContext, digests: string[], curl: boolean) {
  const size = ctx.sizeMiB * MiB
  const start = () => spawnCeiling({ cwd: ctx.repoRoot, dataDir: join(ctx.root, 'ceiling') })
  return withServer(ctx, start, async (server) => {
    const pushes = []
    for (let run = 0; run < ctx.runs; run++) {
      settle()
      ctx.log(`run ${run + 1}/${ctx.runs}: reference node:http server, push ${ctx.sizeMiB} MiB`)
      pushes.push(await measuredPush(server, digests[run], size, run))
    }
    settle()
    await pullBlob(server.url, REPOSITORY, digests[0])
    const pulls = []
    const curlPulls = []
    for (let run = 0; run < ctx.runs; run++) {
      pulls.push(await measuredPull(server, digests[0], size, 'node'))
      if (curl) curlPulls.push(await measuredPull(server, digests[0], size, 'curl'))
    }
    return { pushes, pulls, curlPulls }
  })
}
