// The hostile input corpus (issue #7): over 10,000 deterministic hostile requests against an origin
// running as a child process. 0 responses >= 500, 0 crashes, every error body the spec's JSON, and
// the process's memory bounded (RSS sampled from outside).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, request } from 'node:http'
import { startOriginProcess, sampleEvery, type OriginProcess } from './origin-process.ts'
import { hostileRequests, rawHostileRequests, type CorpusTargets, type HostileRequest } from './hostile-corpus.ts'
import { rawRequest } from '../helpers/raw-http.ts'
import { at, openUpload, pushBlob, pushImage, randomBytes } from '../helpers/registry-client.ts'
import { percentile } from '../../db/queries/replication.ts'

const SEED = 7
const FETCHED = 10_000
const RAW = 400
const CONCURRENCY = 16
const MiB = 1024 * 1024

interface Outcome { kind: string; method: string; path: string; status: number; problem: string | null }

/**
 * Why a response breaks the contract, or null: no 5xx, an error body is the spec's JSON, and no
 * traversal reached a file outside the registry (/etc/passwd's first line).
 */
function problemWith(status: number, method: string, contentType: string | null, body: string): string | null {
  if (status >= 500) return `status ${status}: ${body.slice(0, 200)}`
  if (body.includes('root:x:0:0')) return 'served /etc/passwd'
  if (status < 400 || method === 'HEAD' || body === '') return null
  if (!contentType?.startsWith('application/json')) return `error with Content-Type ${contentType}`
  try {
    const errors = (JSON.parse(body) as { errors?: Array<{ code?: unknown; message?: unknown }> }).errors
    const ok = Array.isArray(errors) && errors.length > 0 && errors.every((e) => typeof e.code === 'string' && /^[A-Z_]+$/.test(e.code) && typeof e.message === 'string')
    return ok ? null : `not a spec error body: ${body.slice(0, 200)}`
  } catch {
    return `error body is not JSON: ${body.slice(0, 200)}`
  }
}

/** One request over `agent`'s kept-alive connections (node:http: lighter on the test's CPU than fetch). */
function send(url: string, agent: Agent, r: HostileRequest): Promise<Outcome> {
  const outcome = { kind: r.kind, method: r.method, path: r.path.slice(0, 120) }
  return new Promise((resolve) => {
    const headers = r.body ? { ...r.headers, 'Content-Length': String(r.body.byteLength) } : r.headers
    const req = request(at(url, r.path), { method: r.method, headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const status = res.statusCode ?? 0
        resolve({ ...outcome, status, problem: problemWith(status, r.method, res.headers['content-type'] ?? null, Buffer.concat(chunks).toString()) })
      })
    })
    req.on('error', (err) => resolve({ ...outcome, status: 0, problem: `no response: ${err.message}` }))
    req.end(r.body)
  })
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await run(items[next++]!)
  }))
}

function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const o of outcomes) counts[o.status] = (counts[o.status] ?? 0) + 1
  return counts
}

describe('hostile input corpus', () => {
  let origin: OriginProcess
  let targets: CorpusTargets
  beforeAll(async () => {
    origin = await startOriginProcess()
    const repo = 'hostile/base'
    await pushImage(origin.url, repo, 'latest')
    const blob = (await pushBlob(origin.url, repo, randomBytes(4096))).digest
    const sessions = await Promise.all(Array.from({ length: 40 }, () => openUpload(origin.url, repo)))
    targets = { repo, blob, sessions: sessions.map((s) => new URL(s).pathname) }
  })
  afterAll(async () => { await origin?.stop() })

  it(`answers ${FETCHED} hostile requests and ${RAW} malformed HTTP ones without a 5xx, a crash or unbounded memory`, async () => {
    // Warm up (JIT, SQLite page cache) so the baseline is the origin at rest, not the origin cold.
    for (let i = 0; i < 200; i++) await fetch(at(origin.url, '/v2/')).then((r) => r.text())
    const rss = sampleEvery(origin.rss, 100)
    const started = Date.now()

    const corpus = hostileRequests(SEED, FETCHED, targets)
    const outcomes: Outcome[] = []
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    await pool(corpus, CONCURRENCY, async (r) => { outcomes.push(await send(origin.url, agent, r)) })
    agent.destroy()
    const fetchedSeconds = (Date.now() - started) / 1000

    const raw = rawHostileRequests(SEED, RAW, targets.repo)
    const rawOutcomes: Outcome[] = []
    await pool(raw, CONCURRENCY, async (r) => {
      const res = await rawRequest(origin.url, r.bytes, { timeoutMs: 5_000 })
      // No status at all is allowed only when the origin closed the connection (a reset client).
      const problem = res.status === 0 ? (res.closed ? null : 'no answer and not closed') : problemWith(res.status, 'GET', res.headers['content-type'] ?? null, res.body)
      rawOutcomes.push({ kind: r.kind, method: 'RAW', path: JSON.stringify(r.bytes.slice(0, 60)), status: res.status, problem })
    })
    const seconds = (Date.now() - started) / 1000
    const memory = rss.stop()

    const all = [...outcomes, ...rawOutcomes]
    const problems = all.filter((o) => o.problem !== null)
    const kinds = new Set(all.map((o) => o.kind))
    console.info(`hostile corpus: ${all.length} requests (${kinds.size} kinds) in ${seconds.toFixed(1)} s (${fetchedSeconds.toFixed(1)} s for the first ${FETCHED}); statuses ${JSON.stringify(tally(all))}; ` +
      `RSS ${(memory.first / MiB).toFixed(0)} MiB at start, max ${(memory.max / MiB).toFixed(0)} MiB, ${(memory.last / MiB).toFixed(0)} MiB at end`)
    expect(problems.slice(0, 10)).toEqual([])
    expect(all.length).toBeGreaterThanOrEqual(10_000)
    expect(kinds.size).toBeGreaterThanOrEqual(25)
    // Still serving, and memory grew by less than 250 MiB over its warm baseline.
    expect(origin.alive()).toBe(true)
    expect((await fetch(at(origin.url, '/v2/'))).status).toBe(200)
    expect(memory.max - memory.first).toBeLessThan(250 * MiB)
  }, 180_000)

  it('keeps answering GET /v2/ while 4 MiB nested manifests arrive eight at a time', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const probe = () => new Promise<number>((resolve, reject) => {
      const t = performance.now()
      request(at(origin.url, '/v2/'), { agent }, (res) => { res.resume(); res.on('end', () => resolve(performance.now() - t)) }).on('error', reject).end()
    })
    await probe()
    const nested = new TextEncoder().encode('['.repeat(2 * MiB) + ']'.repeat(2 * MiB))
    const rss = sampleEvery(origin.rss, 50)
    let done = false
    const latencies: number[] = []
    const probing = (async () => { while (!done) latencies.push(await probe()) })()
    const answers: string[] = []
    // node:http rather than fetch: the test's own event loop must stay light, or it measures itself.
    const put = (i: number) => new Promise<void>((resolve, reject) => {
      const req = request(at(origin.url, `/v2/${targets.repo}/manifests/nested-${i}`), { method: 'PUT', headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': nested.byteLength } }, (res) => {
        let body = ''
        res.on('data', (chunk: Buffer) => { body += chunk.toString() })
        res.on('end', () => { answers.push(`${res.statusCode} ${(JSON.parse(body) as { errors: Array<{ code: string }> }).errors[0]!.code}`); resolve() })
      })
      // The origin may answer and close before taking the whole body: that is the point.
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)))
      req.end(nested)
    })
    for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 8 }, (_, i) => put(i)))
    done = true
    await probing
    agent.destroy()
    const memory = rss.stop()
    const p99 = percentile(latencies, 99)!
    console.info(`8 x 4 MiB nested manifests, 5 rounds: GET /v2/ p50 ${percentile(latencies, 50)!.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${latencies.length}; RSS max ${((memory.max - memory.first) / MiB).toFixed(0)} MiB over start`)
    expect(new Set(answers)).toEqual(new Set(['400 MANIFEST_INVALID']))
    expect(answers).toHaveLength(40)
    // Before the byte scan: ~2 s. The box these run on is shared, so the bound leaves room.
    expect(percentile(latencies, 50)!).toBeLessThan(250)
    expect(p99).toBeLessThan(1_000)
    expect(memory.max - memory.first).toBeLessThan(150 * MiB)
  })
})
