// Write rate under concurrency (issue #11): many clients pushing small blobs monolithically
// (POST opens the session, PUT ?digest= carries the whole body, as the distribution spec's
// "POST then PUT") and then manifests by tag that reference them, against one origin or spread
// round-robin over several origins sharing one database. Ops/s are counted over a fixed window
// after a warm-up, so connection setup and JIT warm-up do not count.

import { Agent, request, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'

export interface RateResult {
  /** Completed operations per second in the measured window. */
  perSecond: number
  count: number
  /** Request latency p50 / p99 within the window, ms (one op = POST + PUT, or one PUT). */
  p50Ms: number
  p99Ms: number
  errors: number
  /** What `sample` (CPU counters: origins, database server) advanced by inside the window, seconds. */
  cpuSeconds: number[] | null
}

const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json'
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json'

async function call(agent: Agent, base: string, method: string, path: string, body: Buffer | null, headers: Record<string, string> = {}): Promise<IncomingMessage & { text: string }> {
  const url = new URL(path, base)
  if (url.hostname !== '127.0.0.1') throw new Error('the benchmark only talks to 127.0.0.1')
  const req = request({ agent, method, host: url.hostname, port: url.port, path: url.pathname + url.search, headers: { 'Content-Length': String(body?.byteLength ?? 0), ...headers } })
  req.end(body ?? undefined)
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  let text = ''
  for await (const chunk of res) text += chunk
  return Object.assign(res, { text })
}

export function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`
}

/** One monolithic blob push: POST, then PUT ?digest= with the whole body. */
export async function pushSmallBlob(agent: Agent, base: string, repo: string, body: Buffer): Promise<string> {
  const digest = sha256(body)
  const post = await call(agent, base, 'POST', `/v2/${repo}/blobs/uploads/`, null)
  if (post.statusCode !== 202 || !post.headers.location) throw new Error(`POST: ${post.statusCode} ${post.text.slice(0, 300)}`)
  const next = post.headers.location
  const put = await call(agent, base, 'PUT', `${next}${next.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`, body, { 'Content-Type': 'application/octet-stream' })
  if (put.statusCode !== 201) throw new Error(`PUT blob: ${put.statusCode} ${put.text.slice(0, 300)}`)
  return digest
}

/** An image manifest over one config and one layer; `salt` makes each one a new digest. */
export function imageManifest(config: { digest: string; size: number }, layer: { digest: string; size: number }, salt: string): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MANIFEST_TYPE,
    config: { mediaType: CONFIG_TYPE, digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
    annotations: { 'org.example.salt': salt },
  }))
}

export async function putManifestByTag(agent: Agent, base: string, repo: string, tag: string, body: Buffer): Promise<void> {
  const res = await call(agent, base, 'PUT', `/v2/${repo}/manifests/${tag}`, body, { 'Content-Type': MANIFEST_TYPE })
  if (res.statusCode !== 201) throw new Error(`PUT manifest ${repo}:${tag}: ${res.statusCode} ${res.text.slice(0, 300)}`)
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/**
 * `clients` loops, client i talking to origins[i % origins.length] over its own keep-alive
 * connection, each running `op` back to back; counts the ops that end inside
 * [warmup, warmup + seconds).
 */
async function rate(origins: string[], clients: number, warmupMs: number, seconds: number, sample: (() => number[]) | null, op: (agent: Agent, base: string, client: number, n: number) => Promise<void>): Promise<RateResult> {
  const started = performance.now()
  const from = started + warmupMs
  const until = from + seconds * 1000
  let cpuFrom: number[] = []
  let cpuUntil: number[] = []
  const sampled = sample ? Promise.all([
    new Promise<void>((r) => setTimeout(() => { cpuFrom = sample(); r() }, warmupMs)),
    new Promise<void>((r) => setTimeout(() => { cpuUntil = sample(); r() }, warmupMs + seconds * 1000)),
  ]) : null
  const latencies: number[] = []
  let errors = 0
  let firstError: unknown = null
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const base = origins[client % origins.length]
    try {
      for (let n = 0; performance.now() < until; n++) {
        const t0 = performance.now()
        try {
          await op(agent, base, client, n)
        } catch (err) {
          errors++
          firstError ??= err
          if (errors > 20) throw err
          continue
        }
        const t1 = performance.now()
        if (t1 >= from && t1 < until) latencies.push(t1 - t0)
      }
    } finally {
      agent.destroy()
    }
  }))
  await sampled
  if (errors > 0) process.stderr.write(`bench: ${errors} errors, first: ${String(firstError)}\n`)
  return { perSecond: latencies.length / seconds, count: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), errors, cpuSeconds: sample ? cpuUntil.map((c, i) => c - cpuFrom[i]) : null }
}

export interface PushRates { blobs: RateResult; manifests: RateResult }

/** One measured window: `clients` at once, ops ending in [warmupMs, warmupMs + seconds) count. */
export interface RateWindow { clients: number; seconds: number; warmupMs: number; sample?: () => number[] }

/** Client i's repository in a measurement labelled `label`. */
const repoOf = (label: string, client: number) => `bench/${label}-${client}`

/** Blob commits/s: each client pushes `blobBytes` random bytes, POST then PUT, back to back. */
export async function blobRate(origins: string[], o: RateWindow & { blobBytes: number; label: string }): Promise<RateResult> {
  return rate(origins, o.clients, o.warmupMs, o.seconds, o.sample ?? null, async (agent, base, client) => {
    await pushSmallBlob(agent, base, repoOf(o.label, client), randomBytes(o.blobBytes))
  })
}

export interface ManifestParts { label: string; parts: Array<{ config: { digest: string; size: number }; layer: { digest: string; size: number } }> }

/** A config and a layer in each client's repository (untimed), for manifestRate to reference. */
export async function manifestParts(origins: string[], o: { clients: number; blobBytes: number; label: string }): Promise<ManifestParts> {
  const parts = await Promise.all(Array.from({ length: o.clients }, async (_, client) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const base = origins[client % origins.length]
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', client }))
      const layer = randomBytes(o.blobBytes)
      return {
        config: { digest: await pushSmallBlob(agent, base, repoOf(o.label, client), config), size: config.byteLength },
        layer: { digest: await pushSmallBlob(agent, base, repoOf(o.label, client), layer), size: layer.byteLength },
      }
    } finally {
      agent.destroy()
    }
  }))
  return { label: o.label, parts }
}

/**
 * Manifest PUTs/s by tag over `parts` (at most its client count); `salt` makes every manifest of
 * this window a new digest when the same parts serve several windows.
 */
export async function manifestRate(origins: string[], parts: ManifestParts, o: RateWindow & { salt: string }): Promise<RateResult> {
  if (o.clients > parts.parts.length) throw new Error(`manifestRate: ${o.clients} clients, parts for ${parts.parts.length}`)
  return rate(origins, o.clients, o.warmupMs, o.seconds, o.sample ?? null, async (agent, base, client, n) => {
    const { config, layer } = parts.parts[client]
    await putManifestByTag(agent, base, repoOf(parts.label, client), `t${n}`, imageManifest(config, layer, `${o.salt}-${client}-${n}`))
  })
}

/**
 * Blob commits/s, then manifest PUTs/s, `clients` at once over `origins`. `label` keeps the
 * repositories of one measurement apart from another's on the same database.
 */
export async function pushRates(origins: string[], o: RateWindow & { blobBytes: number; label: string }): Promise<PushRates> {
  const blobs = await blobRate(origins, o)
  const parts = await manifestParts(origins, o)
  return { blobs, manifests: await manifestRate(origins, parts, { ...o, salt: o.label }) }
}
