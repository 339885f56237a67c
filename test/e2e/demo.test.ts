// `npm start` (scripts/demo.ts, run as its bundle dist/demo.mjs): the origin and a Node edge beside
// it, on free ports; skopeo pulls through the edge, each built-in location is redirected to for a
// client placed near it, and Ctrl-C (SIGINT) stops everything with exit code 0.

import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../faults/registry-processes.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'
import { pushImage } from '../helpers/registry-client.ts'
import { dockerRef, PULL_FLAGS, skopeo } from '../helpers/skopeo.ts'

let dist: string
let dataDir: string
let demo: ChildProcess
let output = ''
let originUrl: string
let edgeUrl: string

beforeAll(async () => {
  // What `npm start` runs: scripts/build.mjs, then dist/demo.mjs; built into a directory of its own
  // inside the repository, so that bare imports resolve to its node_modules.
  dist = join(ROOT, 'node_modules', '.cache', `meridian-demo-${process.pid}-${Date.now()}`)
  await promisify(execFile)(process.execPath, ['scripts/build.mjs', dist], { cwd: ROOT, timeout: 60_000 })
  dataDir = mkdtempSync(join(tmpdir(), 'meridian-demo-'))
  demo = spawn(process.execPath, [join(dist, 'demo.mjs')], {
    env: { ...process.env, MERIDIAN_DATA_DIR: dataDir, DATABASE_URL: await testDatabaseUrl(dataDir), MERIDIAN_ORIGIN_PORT: '0', MERIDIAN_EDGE_PORT: '0', MERIDIAN_LOG_LEVEL: 'warn', MERIDIAN_AUTH: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  demo.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  demo.stderr!.resume()
  const deadline = Date.now() + 20_000
  while (!/Pull through the edge/.test(output)) {
    if (Date.now() > deadline || demo.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  originUrl = /Meridian origin: (\S+)/.exec(output)![1]!
  edgeUrl = /Meridian edge: +(\S+)/.exec(output)![1]!
}, 60_000)

afterAll(async () => {
  if (demo && demo.exitCode === null) {
    demo.kill('SIGKILL')
    await once(demo, 'exit')
  }
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(dist, { recursive: true, force: true })
})

describe('npm start', () => {
  it('prints how to push to the origin and pull through the edge', () => {
    expect(output).toContain(`docker://${new URL(originUrl).host}/demo/app:latest`)
    expect(output).toContain(`skopeo copy --src-tls-verify=false docker://${new URL(edgeUrl).host}/demo/app:latest`)
    const edgeConfig = JSON.parse(readFileSync(join(dataDir, 'edge-local.json'), 'utf8')) as { locations: Array<{ id: string; driver: string }> }
    expect(edgeConfig.locations.map((l) => `${l.id}:${l.driver}`)).toEqual(['us-east:signed-url', 'eu-west:signed-url', 'ap-south:signed-url'])
  })

  it('pulls through the edge with skopeo, and redirects each region\'s clients to its own location', async () => {
    await pushImage(originUrl, 'demo/app', 'latest')
    await skopeo(['copy', ...PULL_FLAGS, dockerRef(edgeUrl, 'demo/app', 'latest'), `dir:${join(dataDir, 'pulled')}`], { timeoutMs: 30_000 })
    const manifest = await (await fetch(`${edgeUrl}/v2/demo/app/manifests/latest`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json() as { layers: Array<{ digest: string }> }
    const blob = `${edgeUrl}/v2/demo/app/blobs/${manifest.layers[0]!.digest}`
    const built = { 'us-east': [39.0, -77.5], 'eu-west': [53.3, -6.3], 'ap-south': [19.1, 72.9] }
    for (const [id, [lat, lon]] of Object.entries(built)) {
      // Replication and the edge's index catch up within moments; until then the bytes' first home answers.
      const deadline = Date.now() + 15_000
      let res: Response
      for (;;) {
        res = await fetch(blob, { redirect: 'manual', headers: { 'CloudFront-Viewer-Latitude': String(lat), 'CloudFront-Viewer-Longitude': String(lon) } })
        await res.body?.cancel()
        if (res.headers.get('meridian-served-from') === id || Date.now() > deadline) break
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(res.status).toBe(307)
      expect(res.headers.get('meridian-served-from')).toBe(id)
      expect(res.headers.get('location')).toContain(`${originUrl}/_meridian/blobs/${id}/`)
    }
  })

  it('stops the origin and the edge on Ctrl-C', async () => {
    const exited = once(demo, 'exit')
    demo.kill('SIGINT')
    const [code] = await exited
    expect(code).toBe(0)
  })
})
