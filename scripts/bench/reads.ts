// The read path under load (issue 8 §7): requests per second and p50/p99 latency of manifest
// HEAD/GET by tag and blob HEAD, from native load generators on 16 connections, at the origin
// and at a ceiling that answers the same bytes and headers from memory in the same runtime
// (scripts/bench/replay-server.ts: node:http, and Bun.serve when a bun binary is at hand).
//
// GETs run under wrk. wrk 4.1 cannot time a HEAD: its parser does not know the answer to a HEAD
// has no body, so it waits for Content-Length bytes that never come. HEADs run under ApacheBench
// (`ab -k -i`, apache2-utils), whose percentiles are whole milliseconds; a ratio always compares
// figures of one generator.
//
// Extension point for the edge: start it, then `measureReads('edge (node)', edge, targets, wrk)`
// with the targets `readTargets(image)` gives, and `readRows(figures, ceilingFigures, goals)`
// against the ceiling of the edge's runtime; the rows print with formatReadTable.

import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request, Agent, type IncomingMessage } from 'node:http'
import { createHash } from 'node:crypto'
import { MiB, payloadChunks, digestPayload } from './payload.ts'
import { spawnOrigin, spawnReplay } from './origin-process.ts'
import { pushBlob, putManifest } from './registry-client.ts'
import type { ReplayAnswer } from './replay-server.ts'
import { withServer, type BenchContext } from './phases.ts'

export interface ReadTarget {
  /** What the row says: "manifest HEAD by tag". */
  name: string
  method: 'GET' | 'HEAD'
  path: string
  headers: Record<string, string>
}

export interface WrkOptions {
  connections: number
  threads: number
  seconds: number
  /** Unmeasured run before each measured one (JIT warm-up, connection set-up). */
  warmupSeconds: number
  /** Where the generated Lua scripts go. */
  scriptDir: string
}

export interface ReadFigure {
  server: string
  target: string
  generator: 'wrk' | 'ab'
  requests: number
  rps: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Socket errors, timeouts and non-2xx answers together: any is a broken measurement. */
  errors: number
  /** Server CPU (user + system) per request, microseconds; null when the server is not a child. */
  cpuUsPerRequest: number | null
}

export interface ReadGoals {
  /** Requests/s as a fraction of the ceiling's on the same request. */
  ratio: number
  p99Ms: number
}

export interface ReadRow extends ReadFigure {
  ceilingRps: number | null
  ratio: number | null
  goal: string
  pass: boolean | null
}

export const DOCKER_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, ' +
  'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'

const REPOSITORY = 'bench/read'
const TAG = 'latest'

/** Whether wrk is installed (`apt-get install wrk`); without it the read figures are skipped. */
export function hasWrk(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined
}

/** Whether ab is installed (`apt-get install apache2-utils`); without it HEAD targets are skipped. */
export function hasAb(): boolean {
  return spawnSync('ab', ['-V'], { stdio: 'ignore' }).status === 0
}

/** A Bun binary without downloading one: $MERIDIAN_BENCH_BUN, node_modules/.bin/bun or bun on PATH. */
export function findBun(repoRoot: string): string | null {
  if (process.env.MERIDIAN_BENCH_BUN) return process.env.MERIDIAN_BENCH_BUN
  const local = join(repoRoot, 'node_modules', '.bin', 'bun')
  if (existsSync(local)) return local
  return spawnSync('bun', ['--version'], { stdio: 'ignore' }).status === 0 ? 'bun' : null
}

/** The pushed image the targets read: a 1 MiB layer, a config, an OCI manifest tagged `latest`. */
export interface BenchImage {
  repository: string
  tag: string
  layer: string
  manifest: string
}

export function readTargets(image: BenchImage): ReadTarget[] {
  const manifest = `/v2/${image.repository}/manifests/${image.tag}`
  const accept = { Accept: DOCKER_ACCEPT }
  return [
    { name: 'manifest HEAD by tag', method: 'HEAD', path: manifest, headers: accept },
    { name: 'manifest GET by tag', method: 'GET', path: manifest, headers: accept },
    { name: 'blob HEAD', method: 'HEAD', path: `/v2/${image.repository}/blobs/${image.layer}`, headers: {} },
  ]
}

export async function pushImage(url: string): Promise<BenchImage> {
  const layerSize = MiB
  const layer = digestPayload({ size: layerSize, seed: 4242 }).digest
  await pushBlob(url, REPOSITORY, layer, payloadChunks({ size: layerSize, seed: 4242 }))
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer] } }))
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`
  await pushBlob(url, REPOSITORY, configDigest, [config])
  const body = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.byteLength },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: layerSize }],
  }))
  const manifest = await putManifest(url, REPOSITORY, TAG, body, 'application/vnd.oci.image.manifest.v1+json')
  return { repository: REPOSITORY, tag: TAG, layer, manifest }
}

/** Hop-by-hop and per-response headers the replay server's runtime adds itself. */
const OWN_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding'])

/** What `server` answers to each target (a HEAD target's answer has no body), for the replay server. */
export async function captureAnswers(url: string, targets: ReadTarget[]): Promise<ReplayAnswer[]> {
  const answers: ReplayAnswer[] = []
  for (const t of targets) {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request(new URL(t.path, url), { method: t.method, headers: t.headers, agent: new Agent({ keepAlive: false }) }, resolve).on('error', reject).end()
    })
    const chunks: Buffer[] = []
    for await (const chunk of res) chunks.push(chunk as Buffer)
    if (res.statusCode !== 200) throw new Error(`${t.method} ${t.path}: ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`)
    const headers: Array<[string, string]> = []
    for (let i = 0; i < res.rawHeaders.length; i += 2) {
      if (!OWN_HEADERS.has(res.rawHeaders[i].toLowerCase())) headers.push([res.rawHeaders[i], res.rawHeaders[i + 1]])
    }
    // Two targets on one path (HEAD and GET of a manifest): the GET's body serves both.
    const existing = answers.findIndex((a) => a.path === t.path)
    const answer = { path: t.path, status: 200, headers, body: Buffer.concat(chunks).toString('base64') }
    if (existing < 0) answers.push(answer)
    else if (t.method === 'GET') answers[existing] = answer
  }
  return answers
}

/** A wrk script: the method and headers of the target, and a JSON summary on stdout at the end. */
function wrkScript(target: ReadTarget): string {
  const headers = Object.entries(target.headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join('\n')
  return `wrk.method = ${JSON.stringify(target.method)}
${headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\n{"requests":%d,"durationUs":%d,"errors":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`
}

interface LoadResult { requests: number; durationUs: number; errors: number; p50Us: number; p99Us: number; maxUs: number }

async function run(command: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => { out += s })
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, out }
}

/** ApacheBench for HEADs: keep-alive, -t seconds (-n after -t, or -t caps it at 50000). */
async function runAb(url: string, target: ReadTarget, seconds: number, options: WrkOptions): Promise<LoadResult> {
  const headers = Object.entries(target.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`])
  const { code, out } = await run('ab', ['-q', '-k', '-i', '-c', String(options.connections), '-t', String(seconds), '-n', '100000000', ...headers, url + target.path])
  const field = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN)
  const requests = field(/^Complete requests:\s+(\d+)/m)
  if (code !== 0 || !Number.isFinite(requests)) throw new Error(`ab failed (${code}): ${out}`)
  const failed = field(/^Failed requests:\s+(\d+)/m)
  const non2xx = /^Non-2xx responses:\s+(\d+)/m.exec(out)
  return {
    requests, durationUs: field(/^Time taken for tests:\s+([\d.]+)/m) * 1e6,
    errors: failed + (non2xx ? Number(non2xx[1]) : 0),
    p50Us: field(/^\s+50%\s+(\d+)/m) * 1000, p99Us: field(/^\s+99%\s+(\d+)/m) * 1000, maxUs: field(/^\s+100%\s+(\d+)/m) * 1000,
  }
}

async function runWrk(url: string, target: ReadTarget, seconds: number, options: WrkOptions): Promise<LoadResult> {
  mkdirSync(options.scriptDir, { recursive: true })
  const script = join(options.scriptDir, `${target.method.toLowerCase()}-${createHash('sha256').update(target.path).digest('hex').slice(0, 8)}.lua`)
  writeFileSync(script, wrkScript(target))
  const { code, out } = await run('wrk', ['-t', String(options.threads), '-c', String(options.connections), '-d', `${seconds}s`, '--latency', '-s', script, url + target.path])
  const line = out.split('\n').find((l) => l.startsWith('{"requests"'))
  if (code !== 0 || !line) throw new Error(`wrk failed (${code}): ${out}`)
  return JSON.parse(line)
}

/** Each target under wrk, one after the other, against `server` (an origin, an edge, a ceiling). */
export async function measureReads(label: string, server: { url: string; cpuSeconds?: () => number }, targets: ReadTarget[], options: WrkOptions): Promise<ReadFigure[]> {
  const figures: ReadFigure[] = []
  const ab = hasAb()
  for (const target of targets) {
    if (target.method === 'HEAD' && !ab) continue
    const load = target.method === 'HEAD' ? runAb : runWrk
    if (options.warmupSeconds > 0) await load(server.url, target, options.warmupSeconds, options)
    const cpu = server.cpuSeconds?.()
    const r = await load(server.url, target, options.seconds, options)
    const cpuUsed = cpu === undefined ? null : server.cpuSeconds!() - cpu
    figures.push({
      server: label, target: target.name, generator: load === runAb ? 'ab' : 'wrk', requests: r.requests, rps: r.requests / (r.durationUs / 1e6),
      p50Ms: r.p50Us / 1000, p99Ms: r.p99Us / 1000, maxMs: r.maxUs / 1000, errors: r.errors,
      cpuUsPerRequest: cpuUsed === null || r.requests === 0 ? null : (cpuUsed * 1e6) / r.requests,
    })
  }
  return figures
}

/** Figures beside the ceiling's for the same target; goals null: the rows are for information. */
export function readRows(figures: ReadFigure[], ceiling: ReadFigure[], goals: ReadGoals | null): ReadRow[] {
  return figures.map((f) => {
    const ceilingRps = ceiling.find((c) => c.target === f.target)?.rps ?? null
    const ratio = ceilingRps ? f.rps / ceilingRps : null
    if (!goals) return { ...f, ceilingRps, ratio, goal: '', pass: f.errors > 0 ? false : null }
    const pass = f.errors === 0 && ratio !== null && ratio >= goals.ratio && f.p99Ms <= goals.p99Ms
    return { ...f, ceilingRps, ratio, goal: `>= ${goals.ratio}x, p99 <= ${goals.p99Ms} ms`, pass }
  })
}

export function formatReadTable(rows: ReadRow[]): string {
  const header = ['server', 'request', 'load', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'CPU µs/req', 'ceiling req/s', 'ratio', 'goal', 'result']
  const f = (v: number | null, d: number) => (v === null ? '' : v.toFixed(d))
  const cells = rows.map((r) => [r.server, r.target, r.generator, f(r.rps, 0), f(r.p50Ms, 2), f(r.p99Ms, 2), f(r.maxMs, 1), f(r.cpuUsPerRequest, 0), f(r.ceilingRps, 0), f(r.ratio, 2), r.goal,
    r.errors > 0 ? `✘ ${r.errors} errors` : r.pass === null ? 'info' : r.pass ? '✔' : '✘'])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c: string[]) => c.map((v, i) => (i < 3 || i >= 10 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

/**
 * The read phase: a fresh origin takes one image, its answers are captured for the replay
 * servers, then each target runs under wrk at the origin, at the node:http ceiling and (when a
 * bun binary is found) at the Bun.serve ceiling.
 */
export async function readPath(ctx: BenchContext, wrk: Omit<WrkOptions, 'scriptDir'>, goals: ReadGoals) {
  const options: WrkOptions = { ...wrk, scriptDir: join(ctx.root, 'wrk') }
  const answersFile = join(ctx.root, 'read-answers.json')
  const origin = () => spawnOrigin({ cwd: ctx.repoRoot, dataDir: join(ctx.root, 'origin-reads'), nodeArgs: ctx.nodeArgs, worker: ctx.worker, entry: ctx.entry })
  const { targets, originFigures } = await withServer(ctx, origin, async (server) => {
    ctx.log(`read path: pushing an image to the origin (pid ${server.pid})`)
    const targets = readTargets(await pushImage(server.url))
    writeFileSync(answersFile, JSON.stringify(await captureAnswers(server.url, targets)))
    ctx.log(`read path: wrk ${options.threads} threads, ${options.connections} connections, ${options.seconds} s per request kind, at the origin`)
    return { targets, originFigures: await measureReads('origin', server, targets, options) }
  })
  ctx.log('read path: the same requests at the node:http ceiling')
  const replay = (bun?: string) => () => spawnReplay({ cwd: ctx.repoRoot, dataDir: join(ctx.root, 'replay'), answersFile, bun })
  const nodeCeiling = await withServer(ctx, replay(), (server) => measureReads('ceiling node:http', server, targets, options))
  if (!hasAb()) ctx.log('read path: ab not found (apt-get install apache2-utils): the HEAD figures are skipped')
  const bun = findBun(ctx.repoRoot)
  if (!bun) ctx.log('read path: no bun binary ($MERIDIAN_BENCH_BUN, node_modules/.bin/bun or PATH): the Bun.serve ceiling is skipped')
  const bunCeiling = bun ? await withServer(ctx, replay(bun), (server) => measureReads('ceiling Bun.serve', server, targets, options)) : null
  const rows = [
    ...readRows(nodeCeiling, nodeCeiling, null),
    ...(bunCeiling ? readRows(bunCeiling, bunCeiling, null) : []),
    ...readRows(originFigures, nodeCeiling, goals),
  ]
  return { targets, rows, ceilings: { node: nodeCeiling, bun: bunCeiling } }
}
