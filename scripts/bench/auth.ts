// What access control costs on the read path (issue #9 "Proof"): requests per second of a manifest
// HEAD by tag carrying a bearer token (verified offline: ES256 signature, claims, access), at the
// origin and at a Node edge, beside the same request at the same servers with access control off,
// in the same run. Goal: the authorised request at ≥ 0.8× the unauthenticated one.
//
// Two origins (auth off, auth on) with the same image, each with a Node edge following it; the
// four are measured in alternation, `rounds` times, and each keeps its best round: the machine is
// shared, and one slow round would otherwise decide the ratio. HEADs run under ApacheBench (see
// reads.ts: wrk cannot time a HEAD), so without `ab` this phase is skipped.

import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase, closeDatabase } from '../../db/client.ts'
import { createAccount } from '../../db/queries/accounts.ts'
import { TOKEN_PATH } from '../../oci/auth/types.ts'
import { loadConfig } from '../../origin/config/load.ts'
import { hashSecret, newPassword } from '../../origin/auth/passwords.ts'
import { spawnOrigin, spawnServer, type OriginProcess } from './origin-process.ts'
import { DOCKER_ACCEPT, hasAb, measureReads, readRows, type ReadFigure, type ReadRow, type WrkOptions } from './reads.ts'
import type { BenchContext } from './phases.ts'

const REPOSITORY = 'bench/auth'
const TAG = 'latest'
const TARGET = 'manifest HEAD by tag'
const ACCOUNT = 'bench'

export interface AuthGoals {
  /** Requests/s with a token as a fraction of the same request with access control off. */
  ratio: number
}

/** The origin's token settings, as its challenge and its tokens name them. */
interface TokenSettings {
  realm: string
  service: string
  issuer: string
}

interface Side {
  label: string
  server: OriginProcess
  /** A fresh token per measurement (null: access control off). */
  token: (() => Promise<string>) | null
}

/** One image (config + 1 KiB layer + OCI manifest), pushed with `authorization` when given. */
async function pushImage(url: string, authorization: string | null): Promise<string> {
  const headers: Record<string, string> = authorization ? { authorization } : {}
  const blob = async (bytes: Buffer) => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    const res = await fetch(`${url}/v2/${REPOSITORY}/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(bytes) })
    if (res.status !== 201) throw new Error(`push blob: ${res.status} ${await res.text()}`)
    return { digest, size: bytes.byteLength }
  }
  const layer = await blob(Buffer.alloc(1024, 0x4d))
  const config = await blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } })))
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  }))
  const res = await fetch(`${url}/v2/${REPOSITORY}/manifests/${TAG}`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: new Uint8Array(manifest) })
  if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`)
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`
}

/** An admin account written straight into the origin's database (the CLI does the same). */
async function createBenchAccount(dataDir: string): Promise<{ user: string; secret: string }> {
  const { config } = loadConfig({ MERIDIAN_CONFIG: join(dataDir, 'bench-config.yaml'), MERIDIAN_DATA_DIR: dataDir, MERIDIAN_AUTH: 'on' })
  const db = await openDatabase(config.databaseUrl)
  try {
    const secret = newPassword()
    await createAccount(db, { name: ACCOUNT, kind: 'user', secretHash: await hashSecret(secret), isAdmin: true })
    return { user: ACCOUNT, secret }
  } finally {
    await closeDatabase(db)
  }
}

/** realm and service from the ping's challenge; the issuer from a token (its `iss`). */
async function tokenSettings(url: string, fetchToken: (s: Omit<TokenSettings, 'issuer'>) => Promise<string>): Promise<TokenSettings> {
  const ping = await fetch(`${url}/v2/`)
  await ping.body?.cancel()
  const challenge = ping.headers.get('www-authenticate') ?? ''
  const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(challenge)?.[1]
  const realm = param('realm')
  const service = param('service')
  if (ping.status !== 401 || !realm || !service) throw new Error(`the auth-on origin did not challenge /v2/ (${ping.status} ${challenge})`)
  const token = await fetchToken({ realm, service })
  const issuer = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { iss: string }).iss
  return { realm, service, issuer }
}

/** GET realm?service=…&scope=… with Basic credentials (token.md). */
async function requestToken(settings: Omit<TokenSettings, 'issuer'>, account: { user: string; secret: string }, scope: string): Promise<string> {
  const url = new URL(settings.realm)
  if (url.pathname !== TOKEN_PATH) throw new Error(`unexpected realm ${settings.realm}`)
  url.searchParams.set('service', settings.service)
  url.searchParams.set('scope', scope)
  const res = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${account.user}:${account.secret}`).toString('base64')}` } })
  if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${await res.text()}`)
  const body = (await res.json()) as { token: string }
  return body.token
}

/** A Node edge (the production bundle) following `origin`, with the origin's token settings or none. */
async function spawnAuthEdge(ctx: BenchContext, origin: OriginProcess, name: string, auth: TokenSettings | null): Promise<OriginProcess> {
  const dataDir = join(ctx.root, name)
  mkdirSync(dataDir, { recursive: true })
  const configFile = join(dataDir, 'edge.json')
  const location = (id: string, lat: number, lon: number) => ({ id, lat, lon, serve: 'redirect', driver: 'signed-url', params: { publicUrl: origin.url } })
  writeFileSync(configFile, JSON.stringify({
    region: 'bench', home: { lat: 39.0, lon: -77.5 }, origin: { url: origin.url },
    locations: [location('us-east', 39.0, -77.5), location('eu-west', 53.3, -6.3), location('ap-south', 19.1, 72.9)],
    proxyNetworks: [], feedWaitSeconds: 20, auth,
  }))
  return spawnServer({
    cwd: ctx.repoRoot, dataDir, script: 'dist/edge.mjs',
    env: (port) => ({
      MERIDIAN_EDGE_CONFIG: configFile, MERIDIAN_EDGE_PORT: String(port), MERIDIAN_EDGE_INDEX: join(dataDir, 'index.sqlite'),
      MERIDIAN_URL_SIGNING_KEY: readFileSync(join(origin.dataDir, 'url-signing.key'), 'utf8').trim(), MERIDIAN_GEO_MMDB: 'none', MERIDIAN_LOG_LEVEL: 'warn',
    }),
  })
}

/** Resolves once the edge answers the tag with `digest` from its own index. */
async function visibleAt(url: string, digest: string, authorization: string | null, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const head = await fetch(`${url}/v2/${REPOSITORY}/manifests/${TAG}`, { method: 'HEAD', headers: { Accept: DOCKER_ACCEPT, ...(authorization ? { authorization } : {}) } })
    if (head.headers.get('docker-content-digest') === digest && head.headers.get('meridian-served-from') === null) return
    if (Date.now() > deadline) throw new Error(`${REPOSITORY}:${TAG} not visible at ${url} after ${timeoutMs} ms (last answer ${head.status})`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export async function authPhase(ctx: BenchContext, wrk: Omit<WrkOptions, 'scriptDir'>, goals: AuthGoals, rounds = 3): Promise<{ rows: ReadRow[]; notes: string[] }> {
  if (!hasAb()) return { rows: [], notes: ['auth: skipped, ab not found (apt-get install apache2-utils): HEADs run under ab'] }
  const options: WrkOptions = { ...wrk, scriptDir: join(ctx.root, 'wrk-auth') }
  const started: OriginProcess[] = []
  const track = (p: OriginProcess) => (started.push(p), p)
  const spawn = (name: string, auth: 'on' | 'off') =>
    spawnOrigin({ cwd: ctx.repoRoot, dataDir: join(ctx.root, name), nodeArgs: ctx.nodeArgs, worker: false, redirect: true, env: { MERIDIAN_AUTH: auth } }).then(track)
  try {
    const off = await spawn('auth-off', 'off')
    const on = await spawn('auth-on', 'on')
    const account = await createBenchAccount(on.dataDir)
    const settings = await tokenSettings(on.url, (s) => requestToken(s, account, `repository:${REPOSITORY}:pull`))
    const token = (scope: string) => () => requestToken(settings, account, scope)
    const pushToken = await token(`repository:${REPOSITORY}:pull,push`)()
    const digest = await pushImage(off.url, null)
    if ((await pushImage(on.url, `Bearer ${pushToken}`)) !== digest) throw new Error('the two origins stored different manifests')
    const edgeOff = track(await spawnAuthEdge(ctx, off, 'edge-auth-off', null))
    const edgeOn = track(await spawnAuthEdge(ctx, on, 'edge-auth-on', settings))
    const pullToken = token(`repository:${REPOSITORY}:pull`)
    await visibleAt(edgeOff.url, digest, null)
    await visibleAt(edgeOn.url, digest, `Bearer ${await pullToken()}`)

    const sides: Side[] = [
      { label: 'origin, auth off', server: off, token: null }, { label: 'origin, bearer token', server: on, token: pullToken },
      { label: 'edge (node), auth off', server: edgeOff, token: null }, { label: 'edge (node), bearer token', server: edgeOn, token: pullToken },
    ]
    const best = new Map<string, ReadFigure>()
    for (let round = 1; round <= rounds; round++) {
      for (const side of sides) {
        ctx.log(`auth: round ${round}/${rounds}, ${side.label} (pid ${side.server.pid})`)
        const headers: Record<string, string> = { Accept: DOCKER_ACCEPT, ...(side.token ? { Authorization: `Bearer ${await side.token()}` } : {}) }
        const [figure] = await measureReads(side.label, side.server, [{ name: TARGET, method: 'HEAD', path: `/v2/${REPOSITORY}/manifests/${TAG}`, headers }], options)
        const kept = best.get(side.label)
        if (figure && (!kept || figure.rps > kept.rps)) best.set(side.label, figure)
      }
    }
    const rows: ReadRow[] = []
    for (const [plain, authorised] of [[sides[0]!, sides[1]!], [sides[2]!, sides[3]!]] as const) {
      const base = best.get(plain.label)
      const withToken = best.get(authorised.label)
      if (!base || !withToken) continue
      rows.push(...readRows([base], [base], null))
      const [row] = readRows([withToken], [base], null)
      rows.push({ ...row!, goal: `>= ${goals.ratio}x auth off`, pass: row!.errors === 0 && row!.ratio !== null && row!.ratio >= goals.ratio })
    }
    const notes = [
      `auth: manifest HEAD by tag with a bearer token (ES256, verified offline) vs the same HEAD with access control off, ` +
      `best of ${rounds} alternating rounds each; for the auth rows "ceiling req/s" is the auth-off figure and ratio = with token / without (goal ≥ ${goals.ratio}×).`,
    ]
    // Server CPU per request moves less with the machine's load than req/s does: the token's cost in µs.
    for (const [plain, authorised] of [[sides[0]!, sides[1]!], [sides[2]!, sides[3]!]] as const) {
      const a = best.get(plain.label)?.cpuUsPerRequest
      const b = best.get(authorised.label)?.cpuUsPerRequest
      if (a != null && b != null) notes.push(`auth: ${authorised.label}: ${(b - a).toFixed(0)} µs of server CPU per request more than ${plain.label} (${a.toFixed(0)} → ${b.toFixed(0)} µs)`)
    }
    return { rows, notes }
  } finally {
    for (const p of started.reverse()) await p.stop().catch(() => undefined)
  }
}
