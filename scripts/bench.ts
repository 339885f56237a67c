// `npm run bench [-- --size=<MiB> --runs=<n> --small=<MiB> --out=<file> --keep --worker --origin-node-args="..."
//                   --origin-entry=<bundle> --reads-only --no-reads --no-edge --no-auth --read-seconds=<s> --connections=<n> --wrk-threads=<n>
//                   --no-scale]`
//
// Push and pull throughput of one large blob against a real origin process on 127.0.0.1, each
// next to the same work done raw (file write + SHA-256 + fsync; file read), and the origin's
// peak memory for two blob sizes (ARCHITECTURE §4.7: memory must not grow with blob size).
// A plain node:http server doing the same (scripts/bench/ceiling-server.ts) and curl as a second
// client show how much of any gap is HTTP over loopback on this machine rather than the origin.
// Then the read path (scripts/bench/reads.ts): manifest HEAD/GET by tag and blob HEAD under wrk,
// at the origin and at a server answering the same bytes from memory (skipped without wrk).
// Then access control's cost (scripts/bench/auth.ts): an authorised manifest HEAD at the origin
// and at a Node edge beside the same HEAD with auth off.
// Then scale-out (scripts/bench/scale.ts, skip with --no-scale): write rates with one and two
// origins, job claim rates with 1 and 4 workers, feed and replication lag, on SQLite and PostgreSQL.
// A benchmark, not a test: it prints a table, writes JSON, and exits 1 when a goal is missed.
// The replication worker runs out of process unless --worker, so its copies of the pushed blob
// to the other built-in locations do not overlap the next measurement.

import { parseArgs } from 'node:util'
import { spawnSync } from 'node:child_process'
import { replicationLag, replicationRows } from './bench/replication.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { MiB, digestPayload, generateOnlySeconds } from './bench/payload.ts'
import type { OriginProcess } from './bench/origin-process.ts'
import { hasCurl } from './bench/registry-client.ts'
import { formatReadTable, hasWrk, readPath } from './bench/reads.ts'
import { edgePhase } from './bench/edge.ts'
import { authPhase } from './bench/auth.ts'
import { scaleBench } from './bench/scale.ts'
import { formatScaleTable } from './bench/scale-report.ts'
import { largeBlob, memoryAtSmallSize, reference, type BenchContext } from './bench/phases.ts'
import { formatTable, infoRow, machineInfo, median, memoryRow, throughputRow, writeJson, type ResultRow } from './bench/report.ts'

const GOALS = { pushRatio: 0.7, pullRatio: 0.8, peakMiB: 150, smallLagP99Ms: 2000, largeLagRatio: 1.3 }
/** Issue 8 §7: the origin's small reads at ≥ 0.2× a plain server of its runtime, p99 ≤ 10 ms. */
const READ_GOALS = { ratio: 0.2, p99Ms: 10 }
/** The edge against its runtime's ceiling (issue 8 §7). */
const EDGE_GOALS = { ratio: 0.3, p99Ms: 10 }
/** Issue 9: a manifest HEAD with a bearer token at ≥ 0.8× the same HEAD with auth off. */
const AUTH_GOALS = { ratio: 0.8 }

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '1024' },
    small: { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'data/bench/latest.json' },
    keep: { type: 'boolean', default: false },
    worker: { type: 'boolean', default: false },
    'origin-node-args': { type: 'string', default: '' },
    'origin-entry': { type: 'string' },
    'no-replication': { type: 'boolean', default: false },
    'reads-only': { type: 'boolean', default: false },
    'no-reads': { type: 'boolean', default: false },
    'no-edge': { type: 'boolean', default: false },
    'no-auth': { type: 'boolean', default: false },
    'read-seconds': { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    'wrk-threads': { type: 'string', default: '2' },
    'no-scale': { type: 'boolean', default: false },
  },
})
const positive = (name: string, value: string) => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`)
  return n
}

let running: OriginProcess | null = null
const ctx: BenchContext = {
  repoRoot: resolve(import.meta.dirname, '..'),
  // os.tmpdir(): here the same filesystem as the repository, so baseline and origin share a disk.
  root: mkdtempSync(join(tmpdir(), 'meridian-bench-')),
  sizeMiB: positive('size', args.size),
  smallMiB: positive('small', args.small),
  runs: positive('runs', args.runs),
  nodeArgs: args['origin-node-args'].split(/\s+/).filter(Boolean),
  entry: args['origin-entry'] ? resolve(args['origin-entry']) : undefined,
  worker: args.worker,
  keep: args.keep,
  log: (line) => process.stderr.write(`bench: ${line}\n`),
  track: (server) => { running = server },
}

async function cleanUp() {
  await running?.stop().catch(() => undefined)
  if (!ctx.keep) rmSync(ctx.root, { recursive: true, force: true })
}
process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)))

/** Median seconds and median server CPU of a list of runs. */
const mid = (runs: Array<{ seconds: number; cpuSeconds: number }>) => ({ seconds: median(runs.map((r) => r.seconds)), cpuSeconds: median(runs.map((r) => r.cpuSeconds)) })

/** Push/pull of one large blob, memory, the node:http reference, replication lag. */
async function blobPhases(curl: boolean) {
  const { sizeMiB, smallMiB, runs } = ctx
  const generateSeconds = generateOnlySeconds({ size: sizeMiB * MiB, seed: 99 })
  const hashSeconds = digestPayload({ size: sizeMiB * MiB, seed: 99 }).seconds
  const small = await memoryAtSmallSize(ctx)
  const large = await largeBlob(ctx, curl)
  const ceiling = await reference(ctx, large.digests, curl)
  const lag = args['no-replication'] ? null : await replicationLag(ctx, { smallCount: 100, smallMiB: 1 })

  const push = mid(large.pushes)
  const pushBaseline = median(large.pushes.map((p) => p.baselineSeconds))
  const pull = mid(large.pulls)
  const pullBaseline = median(large.pulls.map((p) => p.baselineSeconds))
  const rows: ResultRow[] = [
    throughputRow(`push ${sizeMiB} MiB (median of ${runs})`, sizeMiB, push, pushBaseline, GOALS.pushRatio),
    infoRow('  of which PATCH (streamed body)', sizeMiB, { seconds: median(large.pushes.map((p) => p.patchSeconds)) }),
    infoRow('  of which PUT ?digest= (finalize)', sizeMiB, { seconds: median(large.pushes.map((p) => p.putSeconds)) }),
    // The pull goal is judged with a native client (curl, like containerd or skopeo): Node's fetch
    // tops out near 700 MiB/s against any server here, the reference one included, so with it
    // the row measures the client. Without curl, the Node client's figure is judged instead.
    ...(curl
      ? [throughputRow(`pull ${sizeMiB} MiB, curl client (median of ${runs}, warm)`, sizeMiB, mid(large.curlPulls), pullBaseline, GOALS.pullRatio),
        throughputRow('  same pull, Node fetch as the client', sizeMiB, pull, pullBaseline, null)]
      : [throughputRow(`pull ${sizeMiB} MiB, Node fetch client (median of ${runs}, warm)`, sizeMiB, pull, pullBaseline, GOALS.pullRatio)]),
    memoryRow(`origin peak RSS, push ${smallMiB} MiB (fresh)`, small.hwmMiB, GOALS.peakMiB),
    memoryRow(`origin peak RSS, push ${sizeMiB} MiB (fresh)`, large.pushes[0].hwmMiB, GOALS.peakMiB),
    throughputRow('reference node:http server: push', sizeMiB, mid(ceiling.pushes), pushBaseline, null),
    throughputRow('reference node:http server: pull', sizeMiB, mid(ceiling.pulls), pullBaseline, null),
    ...(curl ? [throughputRow('  same pull, curl as the client', sizeMiB, mid(ceiling.curlPulls), pullBaseline, null)] : []),
    { ...memoryRow('reference node:http server peak RSS', ceiling.pushes[0].hwmMiB, GOALS.peakMiB), goal: '', pass: null },
    ...(lag ? replicationRows(lag, GOALS) : []),
    infoRow(`client: generate ${sizeMiB} MiB`, sizeMiB, { seconds: generateSeconds }),
    infoRow(`client: generate + sha256 ${sizeMiB} MiB`, sizeMiB, { seconds: hashSeconds }),
  ]
  const notes = [
    `baselines: push = generate + sha256 + write + fsync in one process; pull = fs.createReadStream (1 MiB reads) of the stored file, warm.`,
    `server CPU s = user + system time of the server process (all threads) during the operation.`,
    `origin idle RSS ${small.idleRssMiB.toFixed(1)} MiB; sampled max RSS during pushes ${small.sampledMaxRssMiB.toFixed(1)} MiB (${smallMiB} MiB), ` +
      `${large.pushes[0].sampledMaxRssMiB.toFixed(1)} MiB (${sizeMiB} MiB); VmHWM after all pushes ${large.hwmAfterPushesMiB.toFixed(1)}, after pulls ${large.hwmAfterPullsMiB.toFixed(1)} MiB`,
  ]
  return { rows, notes, raw: { generateSeconds, hashSeconds, small, large, ceiling, replication: lag } }
}

/** The read path under wrk, or null (and why) when wrk is missing or --no-reads. */
async function readPhase() {
  if (args['no-reads']) return null
  if (!hasWrk()) {
    ctx.log('wrk not found (apt-get install wrk): the read-path figures are skipped')
    return null
  }
  const wrk = { connections: positive('connections', args.connections), threads: positive('wrk-threads', args['wrk-threads']), seconds: positive('read-seconds', args['read-seconds']), warmupSeconds: 2 }
  const reads = await readPath(ctx, wrk, READ_GOALS)
  const edge = args['no-edge'] ? null : await edgePhase(ctx, wrk, EDGE_GOALS, reads.ceilings)
  const auth = args['no-auth'] ? null : await authPhase(ctx, wrk, AUTH_GOALS)
  return { wrk, ...reads, rows: [...reads.rows, ...(edge?.rows ?? []), ...(auth?.rows ?? [])], edgeNotes: [...(edge?.notes ?? []), ...(auth?.notes ?? [])] }
}

try {
  const { sizeMiB, smallMiB, runs } = ctx
  const loadBefore = loadavg()[0]
  ctx.log(`size ${sizeMiB} MiB, runs ${runs}, temp ${ctx.root}, load average ${loadBefore.toFixed(2)}`)
  const curl = hasCurl()
  // The processes measured run the production bundles (`npm run build`), not TypeScript via tsx.
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ctx.repoRoot, stdio: 'inherit' })
  if (built.status !== 0) throw new Error('npm run build failed')
  const blobs = args['reads-only'] ? null : await blobPhases(curl)
  const reads = await readPhase()
  const scale = args['no-scale'] || args['reads-only'] ? null
    : await scaleBench({ repoRoot: ctx.repoRoot, root: ctx.root, distDir: join(ctx.repoRoot, 'dist'), clients: 32, seconds: 3, jobSeconds: 3, lagCount: 100, copies: true, log: ctx.log })
  const loadAfter = loadavg()[0]

  const rows = blobs?.rows ?? []
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { ...machineInfo(), loadAverageBefore: loadBefore, loadAverageAfter: loadAfter },
    sizeMiB, smallMiB, runs, goals: { ...GOALS, reads: READ_GOALS, auth: AUTH_GOALS }, rows,
    reads: reads ? { wrk: reads.wrk, rows: reads.rows } : null,
    scale: scale ? { rows: scale.rows, raw: scale.raw } : null,
    raw: blobs?.raw ?? null,
  }
  const out = resolve(ctx.repoRoot, args.out)
  writeJson(out, result)
  const { machine } = result
  console.log(`\nMeridian origin benchmark: ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}\n`)
  if (blobs) {
    console.log(formatTable(rows))
    console.log(`\n${blobs.notes.join('\n')}\n`)
  }
  if (reads) {
    console.log(formatReadTable(reads.rows))
    if (reads.edgeNotes.length > 0) console.log(`\n${reads.edgeNotes.join('\n')}`)
    console.log(`\nread path: wrk -t${reads.wrk.threads} -c${reads.wrk.connections} -d${reads.wrk.seconds}s (after a ${reads.wrk.warmupSeconds} s warm-up) on this machine, ` +
      `load generator included; ratio = req/s / the node:http ceiling's on the same request; CPU µs/req = server process user + system time per request.`)
  } else if (!args['no-reads']) {
    console.log('read path: SKIPPED, wrk is not installed (apt-get install wrk)')
  }
  if (scale) console.log(`\n${formatScaleTable(scale.rows)}\n\n${scale.notes.join('\n')}`)
  if (loadBefore > machine.cpus * 0.5) console.log(`warning: the machine was busy (load average ${loadBefore.toFixed(2)} on ${machine.cpus} CPUs); timings are noisy`)
  console.log(`results: ${out}`)
  process.exitCode = [...rows, ...(reads?.rows ?? []), ...(scale?.rows ?? [])].some((r) => r.pass === false) ? 1 : 0
} finally {
  await cleanUp()
}
