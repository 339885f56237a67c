// Fills a region index (edge/index, the SQLite store a self-hosted Node edge keeps) the way the
// feed follower does: the changes of the synthetic registry (scripts/capacity/fixture.ts) applied
// in pages of 500 (the feed's default page) through SqlIndex.apply. Prints the apply rate and
// the bytes of each table and index (dbstat), which docs/scaling.md scales to 100 million blobs.
//
//   npx tsx scripts/capacity/edge-sizes.ts --blobs=200000

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Change } from '../../oci/pull/feed.ts'
import { openNodeStore } from '../../edge/entry/node-store.ts'
import { createSqlIndex } from '../../edge/index/sql-index.ts'
import { loadSqliteDriver } from '../../db/sqlite-driver.ts'
import { LOCATIONS, blobDigest, blobSize, linksOf, manifestDigest, manifestPayload, manifestRepository, repositoryName, shape, tagOf, type Shape } from './fixture.ts'
import { sqliteSizes } from './measure.ts'

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')))
const N = Number(args.blobs ?? 200_000)
const PAGE = Number(args.page ?? 500)
const T0 = 1_700_000_000_000

/** The registry's changes as the feed serves them (manifest.put carries the payload in base64). */
function* feed(s: Shape): Generator<Change> {
  let seq = 0
  for (let i = 0; i < s.blobs; i++) {
    const at = T0 + i
    for (const r of linksOf(i, s)) yield { seq: ++seq, at, kind: 'blob.linked', repository: repositoryName(r), digest: blobDigest(i), size: blobSize(i) } as Change
    for (const location of LOCATIONS) yield { seq: ++seq, at, kind: 'placement.present', digest: blobDigest(i), location, size: blobSize(i) } as Change
    if (i % 5 === 4) {
      const m = Math.floor(i / 5)
      const payload = manifestPayload(m, s)
      yield { seq: ++seq, at, kind: 'manifest.put', repository: repositoryName(manifestRepository(m, s)), digest: manifestDigest(m), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: payload.byteLength, subject: null, artifactType: null, annotations: null, payload: payload.toString('base64') } as Change
    }
    if (i % 10 === 9) {
      const t = tagOf(Math.floor(i / 10), s)
      yield { seq: ++seq, at, kind: 'tag.set', repository: repositoryName(t.repository), tag: t.name, digest: manifestDigest(t.manifest) } as Change
    }
  }
}

async function main(): Promise<void> {
  const s = shape(N)
  const dir = mkdtempSync(join(tmpdir(), 'meridian-capacity-edge-'))
  const file = join(dir, 'index.db')
  try {
    const store = openNodeStore(file)
    const index = await createSqlIndex(store)
    let page: Change[] = []
    let applied = 0
    const started = performance.now()
    for (const c of feed(s)) {
      page.push(c)
      if (page.length === PAGE) { await index.apply(page, { head: c.seq }); applied += page.length; page = [] }
    }
    if (page.length) { await index.apply(page, { head: page[page.length - 1].seq }); applied += page.length }
    const seconds = (performance.now() - started) / 1000
    await store.close?.()
    const Driver = loadSqliteDriver()
    const db = new Driver(file)
    const sizes = await sqliteSizes(async <T>(text: string) => (/^\s*PRAGMA/i.test(text) ? db.pragma(text.replace(/^\s*PRAGMA\s+/i, '')) : db.prepare(text).all()) as T[], file)
    const counts = Object.fromEntries(['repositories', 'tags', 'manifests', 'repository_blobs', 'placements'].map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]))
    db.close()
    console.log(JSON.stringify({ engine: 'edge-sqlite', blobs: N, shape: s, page: PAGE, applied, applySeconds: seconds, changesPerSecond: applied / seconds, counts, sizes }, null, 2))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
