// Fills a region index (edge/index, the SQLite store a self-hosted Node edge keeps) the way the
// feed follower does: the changes of the synthetic registry (scripts/capacity/fixture.ts) applied
// in pages of 500 (the feed's default page) through SqlIndex.apply. Prints the apply rate and
// the bytes of each table and index (dbstat), which docs/scaling.md scales to 100 million blobs.
//
//   npx tsx scripts/capacity/edge-sizes.ts --blobs=200000 [--payloads=all|tagged|none]
//
// --payloads=tagged|none measures a layout the index does not use today (docs/scaling.md): manifest
// rows of untagged (or of all) manifests applied with an empty payload, as if the edge fetched
// those bytes on demand. It also measures a compact blob table the index does not have: one
// WITHOUT ROWID row per (repository number, 32-byte digest) with a location bitmask and the size,
// in place of repository_blobs + placements.

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
const PAYLOADS = (args.payloads ?? 'all') as 'all' | 'tagged' | 'none'
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
      const full = manifestPayload(m, s)
      // tagOf points tag t at manifest 2t: the even manifests are the tagged ones.
      const keep = PAYLOADS === 'all' || (PAYLOADS === 'tagged' && m % 2 === 0)
      const payload = keep ? full : Buffer.alloc(0)
      yield { seq: ++seq, at, kind: 'manifest.put', repository: repositoryName(manifestRepository(m, s)), digest: manifestDigest(m), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: full.byteLength, subject: null, artifactType: null, annotations: null, payload: payload.toString('base64') } as Change
    }
    if (i % 10 === 9) {
      const t = tagOf(Math.floor(i / 10), s)
      yield { seq: ++seq, at, kind: 'tag.set', repository: repositoryName(t.repository), tag: t.name, digest: manifestDigest(t.manifest) } as Change
    }
  }
}

/** The compact layout: (repository, digest) → location bitmask and size, one row per link. */
function compactBlobTable(file: string, s: Shape): { rows: number; bytes: number; bytesPerRow: number } {
  const db = new (loadSqliteDriver())(file)
  db.exec('CREATE TABLE blob_locations (repository INTEGER NOT NULL, digest BLOB NOT NULL, locations INTEGER NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (repository, digest)) WITHOUT ROWID')
  const insert = db.prepare('INSERT INTO blob_locations VALUES (?, ?, ?, ?)')
  let rows = 0
  db.transaction(() => {
    for (let i = 0; i < s.blobs; i++) {
      const digest = Buffer.from(blobDigest(i).slice(7), 'hex')
      for (const r of linksOf(i, s)) { insert.run(r, digest, 0b111, blobSize(i)); rows++ }
    }
  })()
  const bytes = Number((db.prepare("SELECT SUM(pgsize) AS b FROM dbstat WHERE name = 'blob_locations'").get() as { b: number }).b)
  db.close()
  return { rows, bytes, bytesPerRow: bytes / rows }
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
    const compact = compactBlobTable(join(dir, 'compact.db'), s)
    console.log(JSON.stringify({ engine: `edge-sqlite (payloads: ${PAYLOADS})`, blobs: N, shape: s, page: PAGE, applied, applySeconds: seconds, changesPerSecond: applied / seconds, counts, sizes, compact }, null, 2))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
