// The geo scenario (issue 8 §7 "Proof") on loopback: three local-disk locations at the coordinates
// of Frankfurt, Virginia and Singapore, one Node edge per region with its own region index, and
// clients placed at those cities, by trusted CDN headers and by client address through the test
// IP database, pulling an image with skopeo through the edges.
//
// skopeo can neither add headers nor choose its source address, so it pulls through a forwarder
// per client (test/helpers/geo-clients.ts): a "CDN" on 127.0.0.1 (a trusted proxy of every edge)
// that adds the location headers, or the client's own network, connecting FROM 127.0.0.2-4. The
// address-placed clients reach the edge of ANOTHER region: where they are served from must follow
// them, not the edge's home. Frankfurt and Virginia redirect (307 to signed URLs at the origin);
// Singapore is a `serve: proxy` location (its bytes stream through the edge, Range and all).

import { mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedirectingOrigin, startTestEdge, type TestEdge } from '../helpers/edge.ts'
import type { TestOrigin } from '../helpers/origin.ts'
import { fetchAs, readAll, startClientForwarder, type ClientPlacement, type Served } from '../helpers/geo-clients.ts'
import { imageManifest, pushBlob, pushManifest, randomBytes, sha256, uniqueName, utf8, type Bytes } from '../helpers/registry-client.ts'
import { waitForReplication } from '../helpers/replication.ts'
import { dockerRef, PULL_FLAGS, skopeo } from '../helpers/skopeo.ts'
import { FRANKFURT, SINGAPORE, TEST_CLIENTS, VIRGINIA, testGeoDatabase } from '../helpers/test-geo-db.ts'
import { OCI_IMAGE_CONFIG } from '../../oci/media-types.ts'
import { loadOrCreateUrlSigningKey } from '../../origin/url-signing-key.ts'
import { signBlobUrl } from '../../storage/signed-url.ts'
import { blobKey } from '../../storage/keys.ts'

const CITIES = ['frankfurt', 'virginia', 'singapore'] as const
type City = (typeof CITIES)[number]
/** The location at each city; pushes land in us-east first (the origin's preference). */
const LOCATION: Record<City, string> = { frankfurt: 'eu-central', virginia: 'us-east', singapore: 'ap-southeast' }
const COORDS: Record<City, { lat: number; lon: number }> = { frankfurt: FRANKFURT, virginia: VIRGINIA, singapore: SINGAPORE }

/** Placed by headers a trusted CDN sets (CloudFront's and Cloudflare's spellings both). */
const BY_HEADERS: Record<City, ClientPlacement> = {
  frankfurt: { headers: { 'CloudFront-Viewer-Latitude': '50.11', 'CloudFront-Viewer-Longitude': '8.68' } },
  virginia: { headers: { 'cf-iplatitude': '38.9', 'cf-iplongitude': '-77.4' } },
  singapore: { headers: { 'CloudFront-Viewer-Latitude': '1.35', 'CloudFront-Viewer-Longitude': '103.8' } },
}
/** Placed by source address through the test IP database. */
const BY_ADDRESS: Record<City, ClientPlacement> = {
  frankfurt: { localAddress: TEST_CLIENTS.frankfurt.v4 },
  virginia: { localAddress: TEST_CLIENTS.virginia.v4 },
  singapore: { localAddress: TEST_CLIENTS.singapore.v4 },
}

let origin: TestOrigin
const edges = {} as Record<City, TestEdge>
let work: string
let name: string
let layer: { digest: string; bytes: Bytes }
let config: { digest: string }
let pullCount = 0

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'meridian-geo-'))
  origin = await startRedirectingOrigin({
    edit: (c) => ({
      ...c,
      // The three built-in fs locations, moved to the scenario's cities.
      locations: c.locations.map((l, i) => {
        const city = CITIES[[1, 0, 2][i]!]!
        return { ...l, id: LOCATION[city], ...COORDS[city], serve: city === 'singapore' ? 'proxy' as const : 'redirect' as const }
      }),
      preference: ['us-east', 'eu-central', 'ap-southeast'],
    }),
  })
  // Replication waits until the test says so: first, the bytes are only where the push put them.
  await origin.worker!.stop()
  const geoDatabase = testGeoDatabase()
  for (const city of CITIES) {
    edges[city] = await startTestEdge(origin, { region: city, home: COORDS[city], trustedProxies: ['127.0.0.1'], geoDatabase, feedWaitSeconds: 2, probeSeconds: 0 })
  }
  name = uniqueName('geo')
  const cfg = await pushBlob(origin.url, name, utf8(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })), OCI_IMAGE_CONFIG)
  const bytes = randomBytes(1024 * 1024 + 7)
  const pushed = await pushBlob(origin.url, name, bytes)
  await pushManifest(origin.url, name, 'v1', imageManifest(cfg, [pushed]))
  layer = { digest: pushed.digest, bytes }
  config = { digest: cfg.digest }
  await Promise.all(CITIES.map((c) => edges[c].settle()))
}, 30_000)

afterAll(async () => {
  for (const city of CITIES) await edges[city]?.close()
  await origin?.close()
  rmSync(work, { recursive: true, force: true })
})

/** skopeo pulls name:v1 through `edgeUrl` as the placed client; what the edge served each blob from. */
async function pull(edgeUrl: string, placement: ClientPlacement): Promise<Served[]> {
  const forwarder = await startClientForwarder(edgeUrl, placement)
  try {
    await skopeo(['copy', ...PULL_FLAGS, dockerRef(forwarder.url, name, 'v1'), `dir:${join(work, `pull-${++pullCount}`)}`], { timeoutMs: 30_000 })
    return forwarder.blobs.filter((b) => b.method === 'GET')
  } finally {
    await forwarder.close()
  }
}

/** The address-placed client of `city` reaches the next region's edge. */
function otherEdge(city: City): TestEdge {
  return edges[CITIES[(CITIES.indexOf(city) + 1) % 3]!]
}

function servedFrom(blobs: Served[]): string[] {
  return [...new Set(blobs.map((b) => b.servedFrom ?? 'none'))]
}

describe('geo scenario: Frankfurt, Virginia and Singapore on loopback', () => {
  it('before replication serves every client from wherever the bytes already are', async () => {
    const pulls = await Promise.all(CITIES.map((city) => pull(edges[city].url, BY_HEADERS[city])))
    for (const blobs of pulls) {
      expect(blobs.map((b) => b.path).sort()).toEqual([config.digest, layer.digest].map((d) => `/v2/${name}/blobs/${d}`).sort())
      expect(servedFrom(blobs)).toEqual(['us-east'])
      expect(blobs.every((b) => b.status === 307)).toBe(true)
    }
  })

  it('after replication serves each client placed by trusted headers from its own location', async () => {
    origin.worker!.start()
    await waitForReplication(origin.db)
    await Promise.all(CITIES.map((c) => edges[c].settle()))
    const pulls = await Promise.all(CITIES.map((city) => pull(edges[city].url, BY_HEADERS[city])))
    CITIES.forEach((city, i) => {
      expect(servedFrom(pulls[i]!), city).toEqual([LOCATION[city]])
      expect(pulls[i]!.every((b) => b.status === (city === 'singapore' ? 200 : 307))).toBe(true)
      expect(pulls[i]!.every((b) => b.geoSource?.startsWith('header:'))).toBe(true)
    })
  })

  it('after replication serves each client placed by its address from its own location, whichever edge it reaches', async () => {
    const pulls = await Promise.all(CITIES.map((city) => pull(otherEdge(city).url, BY_ADDRESS[city])))
    CITIES.forEach((city, i) => {
      expect(servedFrom(pulls[i]!), city).toEqual([LOCATION[city]])
      expect(pulls[i]!.every((b) => b.geoSource !== 'home' && !b.geoSource?.startsWith('header:'))).toBe(true)
    })
  })

  it('answers HEAD for the manifest and every blob at every edge, for every client', async () => {
    for (const city of CITIES) {
      for (const edge of Object.values(edges)) {
        const manifest = await fetchAs(BY_ADDRESS[city], `${edge.url}/v2/${name}/manifests/v1`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
        expect(manifest.status).toBe(200)
        expect(manifest.headers['docker-content-digest']).toMatch(/^sha256:/)
        for (const blob of [config.digest, layer.digest]) {
          const head = await fetchAs(BY_ADDRESS[city], `${edge.url}/v2/${name}/blobs/${blob}`, { method: 'HEAD' })
          expect(head.status).toBe(200)
          expect(head.headers['docker-content-digest']).toBe(blob)
          if (blob === layer.digest) expect(head.headers['content-length']).toBe(String(layer.bytes.byteLength))
          head.body.resume()
        }
        manifest.body.resume()
      }
    }
  })

  it('resumes an interrupted proxied pull with Range', async () => {
    const client = BY_ADDRESS.singapore
    const url = `${edges.singapore.url}/v2/${name}/blobs/${layer.digest}`
    const first = await fetchAs(client, url)
    expect(first.status).toBe(200)
    expect(first.headers['meridian-served-from']).toBe('ap-southeast')
    // A few bytes, then the connection drops.
    const got: Buffer[] = []
    let received = 0
    for await (const chunk of first.body) {
      got.push(chunk as Buffer)
      received += (chunk as Buffer).byteLength
      if (received >= 1000) break
    }
    first.body.destroy()
    expect(received).toBeLessThan(layer.bytes.byteLength)
    const rest = await fetchAs(client, url, { headers: { range: `bytes=${received}-` } })
    expect(rest.status).toBe(206)
    expect(rest.headers['content-range']).toBe(`bytes ${received}-${layer.bytes.byteLength - 1}/${layer.bytes.byteLength}`)
    const whole = Buffer.concat([...got, Buffer.from(await readAll(rest.body))])
    expect(sha256(whole)).toBe(layer.digest)
  })

  it('refuses an expired presigned URL with 403 and serves a fresh one', async () => {
    const redirect = await fetchAs(BY_ADDRESS.frankfurt, `${edges.frankfurt.url}/v2/${name}/blobs/${layer.digest}`)
    redirect.body.resume()
    expect(redirect.status).toBe(307)
    const fresh = await fetch(redirect.headers.location!)
    expect(fresh.status).toBe(200)
    expect(sha256(new Uint8Array(await fresh.arrayBuffer()))).toBe(layer.digest)
    const expired = await signBlobUrl({
      baseUrl: origin.url, location: 'eu-central', key: blobKey(layer.digest),
      expiresAt: Math.floor(Date.now() / 1000) - 1, secret: await loadOrCreateUrlSigningKey(origin.dataDir),
    })
    const refused = await fetch(expired)
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('DENIED')
  })

  it('with Singapore down, every pull still succeeds (0 failed), Singapore clients from the next nearest', async () => {
    // The disk fails: its root becomes a symlink loop, so every read at the origin errs (ELOOP).
    const root = origin.config.locations.find((l) => l.id === 'ap-southeast')!.params.root as string
    renameSync(root, `${root}.away`)
    symlinkSync(root, root)
    const runs = CITIES.flatMap((city) => [
      pull(edges[city].url, BY_HEADERS[city]).then((blobs) => ({ city, blobs })),
      pull(otherEdge(city).url, BY_ADDRESS[city]).then((blobs) => ({ city, blobs })),
    ])
    const settled = await Promise.allSettled(runs)
    const failed = settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason))
    expect(failed).toEqual([])
    for (const s of settled) {
      const { city, blobs } = (s as PromiseFulfilledResult<{ city: City; blobs: Served[] }>).value
      const final = blobs.filter((b) => b.status === 200 || b.status === 307)
      expect(servedFrom(final), city).toEqual([city === 'singapore' ? 'eu-central' : LOCATION[city]])
    }
    // The edges the Singapore clients reached set the location aside: found failing by their own
    // reads, or reported unreadable by the origin through the feed, whichever came first.
    for (const edge of [edges.singapore, otherEdge('singapore')]) {
      const status = await (await fetch(`${edge.url}/_meridian/edge/status`)).json() as { locationsDown: Array<{ id: string }>; locationsDownAtOrigin: string[] }
      expect(new Set([...status.locationsDown.map((d) => d.id), ...status.locationsDownAtOrigin])).toEqual(new Set(['ap-southeast']))
    }
  })

  it('with Frankfurt (redirected to) down too, no client is redirected to it: 0 failed pulls, all from Virginia', async () => {
    // A redirect is the edge's last word, so a location is probed before clients are sent to it
    // (probeSeconds: 0 here, every time; 10 s by default).
    const root = origin.config.locations.find((l) => l.id === 'eu-central')!.params.root as string
    renameSync(root, `${root}.away`)
    symlinkSync(root, root)
    const runs = CITIES.flatMap((city) => [pull(edges[city].url, BY_HEADERS[city]), pull(otherEdge(city).url, BY_ADDRESS[city])])
    const settled = await Promise.allSettled(runs)
    expect(settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason))).toEqual([])
    for (const s of settled) {
      const blobs = (s as PromiseFulfilledResult<Served[]>).value
      expect(servedFrom(blobs.filter((b) => b.status === 200 || b.status === 307))).toEqual(['us-east'])
    }
  })
})
