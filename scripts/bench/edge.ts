// The edge under load (issue 8 §7), beside the same requests at the origin and at a plain server
// of the edge's runtime answering the same bytes: manifest HEAD/GET by tag and blob GET (a 307
// redirect to a signed URL) at a Node edge (and a Bun edge when a bun binary is at hand); a large
// blob proxied through the edge beside a direct pull from the origin; and index lag, push →
// visible at the edge.

import { writeFileSync, readFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { spawnOrigin, spawnServer, type OriginProcess } from './origin-process.ts'
import { findBun, measureReads, pushImage, readRows, readTargets, type ReadFigure, type ReadGoals, type ReadRow, type ReadTarget, type WrkOptions } from './reads.ts'
import { withServer, type BenchContext } from './phases.ts'
import { MiB, digestPayload, payloadChunks } from './payload.ts'
import { curlPull, pullBlob, pushBlob, putManifest } from './registry-client.ts'

const DOCKER_ACCEPT = 'application/vnd.oci.image.manifest.v1+json'

/** The edge config for an edge beside `origin`: its three locations, redirecting (origin/edge-config.ts shape). */
function edgeConfig(originUrl: string, proxyAll: boolean) {
  const location = (id: string, lat: number, lon: number) => ({ id, lat, lon, serve: 'redirect', driver: 'signed-url', params: { publicUrl: originUrl } })
  return {
    region: 'bench', home: { lat: 39.0, lon: -77.5 }, origin: { url: originUrl },
    locations: [location('us-east', 39.0, -77.5), location('eu-west', 53.3, -6.3), location('ap-south', 19.1, 72.9)],
    proxyNetworks: proxyAll ? ['127.0.0.0/8'] : [], feedWaitSeconds: 20,
    // The bench origin runs with access control off (origin-process.ts).
    auth: null,
  }
}

async function spawnEdge(ctx: BenchContext, origin: OriginProcess, name: string, options: { bun?: string; proxyAll?: boolean } = {}): Promise<OriginProcess> {
  const dataDir = join(ctx.root, name)
  mkdirSync(dataDir, { recursive: true })
  const configFile = join(dataDir, 'edge.json')
  writeFileSync(configFile, JSON.stringify(edgeConfig(origin.url, options.proxyAll ?? false)))
  const urlSigningKey = readFileSync(join(origin.dataDir, 'url-signing.key'), 'utf8').trim()
  return spawnServer({
    cwd: ctx.repoRoot, dataDir,
    // Node runs the production bundle (npm run build); Bun runs the TypeScript entry itself.
    script: options.bun ? 'edge/entry/bun.ts' : 'dist/edge.mjs',
    runtime: options.bun, runtimeArgs: [],
    env: (port) => ({
      MERIDIAN_EDGE_CONFIG: configFile, MERIDIAN_EDGE_PORT: String(port), MERIDIAN_EDGE_INDEX: join(dataDir, 'index.sqlite'),
      MERIDIAN_URL_SIGNING_KEY: urlSigningKey, MERIDIAN_GEO_MMDB: 'none', MERIDIAN_LOG_LEVEL: 'warn',
    }),
  })
}

/** Resolves once `edge` answers the tag with `digest` (HEAD from its index); the time it took. */
async function visibleAt(edge: string, repository: string, tag: string, digest: string, timeoutMs = 10_000): Promise<number> {
  const started = performance.now()
  for (;;) {
    const head = await fetch(`${edge}/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: DOCKER_ACCEPT } })
    // A miss is answered by the origin (Meridian-Served-From: origin): only an answer from the index counts.
    if (head.headers.get('docker-content-digest') === digest && head.headers.get('meridian-served-from') === null) return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`${repository}:${tag} not visible at the edge after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

export async function edgePhase(ctx: BenchContext, wrk: Omit<WrkOptions, 'scriptDir'>, goals: ReadGoals, ceilings: { node: ReadFigure[]; bun: ReadFigure[] | null }) {
  const options: WrkOptions = { ...wrk, scriptDir: join(ctx.root, 'wrk-edge') }
  const origin = () => spawnOrigin({ cwd: ctx.repoRoot, dataDir: join(ctx.root, 'origin-edge'), nodeArgs: ctx.nodeArgs, worker: false, redirect: true })
  return withServer(ctx, origin, async (server) => {
    const image = await pushImage(server.url)
    const targets: ReadTarget[] = [
      ...readTargets(image).filter((t) => t.name.startsWith('manifest')),
      { name: 'blob GET (307 redirect)', method: 'GET', path: `/v2/${image.repository}/blobs/${image.layer}`, headers: {} },
    ]
    const rows: ReadRow[] = []
    const notes: string[] = []
    const bun = findBun(ctx.repoRoot)
    for (const runtime of bun ? ['node', 'bun'] as const : ['node'] as const) {
      const edge = await spawnEdge(ctx, server, `edge-${runtime}`, runtime === 'bun' ? { bun: bun! } : {})
      try {
        await visibleAt(edge.url, image.repository, image.tag, image.manifest)
        ctx.log(`edge (${runtime}, pid ${edge.pid}): wrk ${options.connections} connections, ${options.seconds} s per request kind`)
        const figures = await measureReads(`edge (${runtime})`, edge, targets, options)
        const ceiling = runtime === 'bun' ? ceilings.bun : ceilings.node
        // The redirect has no ceiling row of its own: its ratio is against the ceiling's blob HEAD, info only.
        rows.push(...readRows(figures.filter((f) => f.target.startsWith('manifest')), ceiling ?? [], ceiling ? goals : null))
        rows.push(...readRows(figures.filter((f) => !f.target.startsWith('manifest')), [], null))
      } finally {
        await edge.stop()
      }
    }
    if (!bun) notes.push('edge (bun): skipped, no bun binary (npm i bun, $MERIDIAN_BENCH_BUN or bun on PATH)')

    // Index lag: a tag moved at the origin, seen at the edge (long-poll feed → index → HEAD).
    const edge = await spawnEdge(ctx, server, 'edge-lag')
    try {
      await visibleAt(edge.url, image.repository, image.tag, image.manifest)
      const manifest = await (await fetch(`${server.url}/v2/${image.repository}/manifests/${image.tag}`, { headers: { Accept: DOCKER_ACCEPT } })).json() as Record<string, unknown>
      const lags: number[] = []
      for (let i = 0; i < 50; i++) {
        const body = Buffer.from(JSON.stringify({ ...manifest, annotations: { n: String(i) } }))
        const started = performance.now()
        const digest = await putManifest(server.url, image.repository, 'moving', body, DOCKER_ACCEPT)
        await visibleAt(edge.url, image.repository, 'moving', digest)
        lags.push(performance.now() - started)
      }
      notes.push(`index lag, PUT manifest at the origin → HEAD by tag answered from the edge's index (50 tag moves): p50 ${percentile(lags, 50).toFixed(0)} ms, p99 ${percentile(lags, 99).toFixed(0)} ms (goal p99 ≤ 1000 ms) ${percentile(lags, 99) <= 1000 ? '✔' : '✘'}`)
    } finally {
      await edge.stop()
    }

    // A large blob proxied through the edge, beside the same pull straight from the origin (curl).
    const size = ctx.sizeMiB * MiB
    const { digest } = digestPayload({ size, seed: 777 })
    ctx.log(`edge proxy: pushing ${ctx.sizeMiB} MiB`)
    await pushBlob(server.url, image.repository, digest, payloadChunks({ size, seed: 777 }))
    const proxy = await spawnEdge(ctx, server, 'edge-proxy', { proxyAll: true })
    const plainProxy = await spawnServer({
      cwd: ctx.repoRoot, dataDir: ctx.root, script: 'scripts/bench/plain-proxy.mjs',
      env: (port) => ({ PORT: String(port), BENCH_UPSTREAM: server.url }),
    })
    try {
      await visibleAt(proxy.url, image.repository, image.tag, image.manifest)
      // Three pulls each, alternating, best of three: this box is shared and 2-core, and one
      // slow pull would otherwise decide the ratio.
      const best = (a: { seconds: number } | undefined, b: { seconds: number }) => (a && a.seconds <= b.seconds ? a : b)
      let direct, through, plain
      for (let i = 0; i < 3; i++) {
        direct = best(direct, await curlPull(server.url, image.repository, digest))
        through = best(through, await curlPull(proxy.url, image.repository, digest))
        plain = best(plain, await curlPull(plainProxy.url, image.repository, digest))
      }
      // The edge's hop to the location is Node's own HTTP client (fetch): its speed alone, same blob.
      const nodeClient = await pullBlob(server.url, image.repository, digest, { verify: false })
      const ratio = direct!.seconds / through!.seconds
      const ofPlain = plain!.seconds / through!.seconds
      const rate = (r: { seconds: number }) => (ctx.sizeMiB / r.seconds).toFixed(0)
      notes.push(`${ctx.sizeMiB} MiB proxied through the edge (Node, signed-url location read through the origin), curl, best of 3: ${rate(through!)} MiB/s ` +
        `vs ${rate(direct!)} MiB/s straight from the origin = ${ratio.toFixed(2)}× (goal ≥ 0.9×) ${ratio >= 0.9 ? '✔' : '✘'}; ` +
        `a plain node:http pipe proxy in front of the origin (scripts/bench/plain-proxy.mjs, the ceiling of any Node proxy here) ${rate(plain!)} MiB/s = ${(direct!.seconds / plain!.seconds).toFixed(2)}× direct, ` +
        `so the edge runs at ${ofPlain.toFixed(2)}× that ceiling; Node's fetch alone reads it from the origin at ${rate(nodeClient)} MiB/s`)
    } finally {
      await proxy.stop()
      await plainProxy.stop()
    }
    return { rows, notes }
  })
}
