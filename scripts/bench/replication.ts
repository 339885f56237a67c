// Replication lag: from a blob's commit (its job's created_at) to present in every default
// location, for many small blobs and one large one, next to a raw copy of the same bytes
// between the same engines in the same run. The worker runs as its own process
// (origin/worker-main.ts, as `npm run worker`), so its memory can be read alone.

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createReadStream, createWriteStream, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { openDatabase, closeDatabase, type Db } from '../../db/client.ts'
import { replicationJobs } from '../../db/schema.ts'
import { MiB, digestPayload, payloadChunks } from './payload.ts'
import { readProcessMemory, spawnOrigin } from './origin-process.ts'
import { pushBlob } from './registry-client.ts'
import { median } from './report.ts'
import type { BenchContext } from './phases.ts'
import type { ResultRow } from './report.ts'

export interface LagResult {
  small: { count: number; sizeMiB: number; p50Ms: number; p99Ms: number; maxMs: number; rawCopyP99Ms: number }
  large: { sizeMiB: number; lagSeconds: number; rawCopySeconds: number; ratio: number }
  workerPeakMiB: { afterSmall: number; afterQuarter: number; quarterMiB: number; afterLarge: number }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

function blobFile(dataDir: string, location: string, digest: string): string {
  const hex = digest.slice('sha256:'.length)
  return join(dataDir, 'locations', location, 'blobs', 'sha256', hex.slice(0, 2), hex)
}

/** Raw copy baseline: the same file streamed to two other directories at once, fsynced, no hashing. */
async function rawCopySeconds(source: string, targets: string[]): Promise<number> {
  const started = performance.now()
  await Promise.all(targets.map(async (t) => {
    mkdirSync(join(t, '..'), { recursive: true })
    const out = createWriteStream(t, { flush: true })
    await pipeline(createReadStream(source, { highWaterMark: MiB }), out)
  }))
  return (performance.now() - started) / 1000
}

async function waitDone(db: Db, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const open = (await db.select().from(replicationJobs).all()).filter((j) => j.state !== 'done')
    if (open.length === 0) return
    if (open.some((j) => j.state === 'dead')) throw new Error(`replication dead-lettered: ${open.find((j) => j.state === 'dead')!.lastError}`)
    if (Date.now() > deadline) throw new Error(`replication not done after ${timeoutMs} ms (${open.length} jobs open)`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function lagsMs(db: Db, digests: Set<string>): Promise<Map<string, number>> {
  // Per blob: the slowest of its copies (present in *every* default location).
  const out = new Map<string, number>()
  for (const j of await db.select().from(replicationJobs).all()) {
    if (!digests.has(j.digest) || j.finishedAt === null) continue
    out.set(j.digest, Math.max(out.get(j.digest) ?? 0, j.finishedAt - j.createdAt))
  }
  return out
}

export async function replicationLag(ctx: BenchContext, options: { smallCount?: number; smallMiB?: number } = {}): Promise<LagResult> {
  const { smallCount = 100, smallMiB = 1 } = options
  const dataDir = join(ctx.root, 'replication')
  const origin = await spawnOrigin({ cwd: ctx.repoRoot, dataDir, worker: false })
  ctx.track(origin)
  const db = await openDatabase(`sqlite:${join(dataDir, 'meridian.db')}`)
  const worker: ChildProcess = spawn(process.execPath, ['dist/worker.mjs'], {
    cwd: ctx.repoRoot,
    env: { ...process.env, MERIDIAN_CONFIG: join(dataDir, 'bench-config.yaml'), MERIDIAN_DATA_DIR: dataDir, MERIDIAN_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  try {
    await new Promise<void>((resolve, reject) => {
      worker.stdout!.setEncoding('utf8').on('data', (s: string) => { if (s.includes('worker ready')) resolve() })
      worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)))
    })
    // Small blobs, pushed one after another while the worker copies behind them.
    const small = new Set<string>()
    const rawSmall: number[] = []
    for (let i = 0; i < smallCount; i++) {
      const spec = { size: smallMiB * MiB, seed: 10_000 + i }
      const { digest } = digestPayload(spec)
      small.add(digest)
      await pushBlob(origin.url, 'bench/small', digest, payloadChunks(spec))
    }
    await waitDone(db, 120_000)
    const afterSmall = readProcessMemory(worker.pid!).hwmMiB
    for (const digest of small) {
      rawSmall.push(await rawCopySeconds(blobFile(dataDir, 'us-east', digest), [join(dataDir, 'raw', 'a', digest), join(dataDir, 'raw', 'b', digest)]) * 1000)
    }
    const smallLags = [...(await lagsMs(db, small)).values()]
    ctx.log(`replication: ${smallCount} x ${smallMiB} MiB, p99 lag ${percentile(smallLags, 99)} ms`)

    // A quarter-size blob first: the worker's peak after it is the reference for "flat".
    const quarter = { size: Math.max(1, ctx.sizeMiB >> 2) * MiB, seed: 76 }
    await pushBlob(origin.url, 'bench/medium', digestPayload(quarter).digest, payloadChunks(quarter))
    await waitDone(db, 600_000)
    const afterQuarter = readProcessMemory(worker.pid!).hwmMiB

    // One large blob: commit to present in both other locations.
    const spec = { size: ctx.sizeMiB * MiB, seed: 77 }
    const { digest } = digestPayload(spec)
    await pushBlob(origin.url, 'bench/large', digest, payloadChunks(spec))
    await waitDone(db, 600_000)
    const afterLarge = readProcessMemory(worker.pid!).hwmMiB
    const lagSeconds = (await lagsMs(db, new Set([digest]))).get(digest)! / 1000
    const raw = await rawCopySeconds(blobFile(dataDir, 'us-east', digest), [join(dataDir, 'raw', 'a', 'large'), join(dataDir, 'raw', 'b', 'large')])
    ctx.log(`replication: ${ctx.sizeMiB} MiB lag ${lagSeconds.toFixed(2)} s, raw copy ${raw.toFixed(2)} s`)
    return {
      small: { count: smallCount, sizeMiB: smallMiB, p50Ms: percentile(smallLags, 50), p99Ms: percentile(smallLags, 99), maxMs: Math.max(...smallLags), rawCopyP99Ms: Math.round(percentile(rawSmall, 99) * 10) / 10 },
      large: { sizeMiB: ctx.sizeMiB, lagSeconds, rawCopySeconds: raw, ratio: lagSeconds / raw },
      workerPeakMiB: { afterSmall, afterQuarter, quarterMiB: quarter.size / MiB, afterLarge },
    }
  } finally {
    worker.kill('SIGTERM')
    await once(worker, 'exit').catch(() => undefined)
    await closeDatabase(db)
    await origin.stop()
    ctx.track(null)
    if (!ctx.keep) rmSync(dataDir, { recursive: true, force: true })
  }
}


/** The replication figures as table rows: p99 lag of small blobs, the large blob beside a raw copy, worker memory. */
export function replicationRows(r: LagResult, goals: { smallLagP99Ms: number; largeLagRatio: number }): ResultRow[] {
  return [
    {
      operation: `replication lag p99, ${r.small.count} x ${r.small.sizeMiB} MiB (p50 ${r.small.p50Ms} ms, raw copy p99 ${r.small.rawCopyP99Ms} ms)`,
      seconds: r.small.p99Ms / 1000, cpuSeconds: null, mibPerSec: null, baselineMibPerSec: null, ratio: null, peakMiB: null,
      goal: `p99 <= ${goals.smallLagP99Ms / 1000} s`, pass: r.small.p99Ms <= goals.smallLagP99Ms,
    },
    {
      // Here the ratio is lag / raw copy (lower is better), unlike the throughput rows.
      operation: `replication lag ${r.large.sizeMiB} MiB to both locations (raw copy ${r.large.rawCopySeconds.toFixed(2)} s)`,
      seconds: r.large.lagSeconds, cpuSeconds: null, mibPerSec: (r.large.sizeMiB * 2) / r.large.lagSeconds, baselineMibPerSec: (r.large.sizeMiB * 2) / r.large.rawCopySeconds,
      ratio: r.large.ratio, peakMiB: null, goal: `lag/raw <= ${goals.largeLagRatio}`, pass: r.large.ratio <= goals.largeLagRatio,
    },
    {
      // VmHWM is a high-water mark: after the 1 GiB copy it may not exceed what the 256 MiB copy reached.
      operation: `worker peak RSS: ${r.small.count} x ${r.small.sizeMiB} MiB, then ${r.workerPeakMiB.quarterMiB} MiB, then ${r.large.sizeMiB} MiB`,
      seconds: null, cpuSeconds: null, mibPerSec: null, baselineMibPerSec: null, ratio: null, peakMiB: r.workerPeakMiB.afterLarge,
      goal: `flat (${r.workerPeakMiB.afterSmall.toFixed(0)} → ${r.workerPeakMiB.afterQuarter.toFixed(0)} → ${r.workerPeakMiB.afterLarge.toFixed(0)} MiB)`,
      pass: r.workerPeakMiB.afterLarge <= r.workerPeakMiB.afterQuarter * 1.1,
    },
  ]
}
