// Populates the origin's schema with a synthetic registry of N blobs (scripts/capacity/fixture.ts)
// on SQLite or on a throwaway PostgreSQL cluster, then prints the bytes each table and index takes
// (total and per row) and the change feed's append and page-read rates. docs/scaling.md scales
// these per-row figures linearly to 100 million blobs.
//
//   npx tsx scripts/capacity/origin-sizes.ts --db=sqlite --blobs=200000
//   npx tsx scripts/capacity/origin-sizes.ts --db=postgres --blobs=200000

import { asc, gt, sql } from 'drizzle-orm'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeDatabase, openDatabase, type Db } from '../../db/client.ts'
import { blobs, changes, manifestReferences, manifests, placements, replicationJobs, repositories, repositoryBlobs, tags } from '../../db/schema.ts'
import { startPostgres, type PostgresCluster } from '../../test/helpers/postgres.ts'
import { LOCATIONS, batches, blobDigest, blobSize, linksOf, manifestDigest, manifestPayload, manifestRepository, referencesOf, repositoryName, shape, tagOf, type Shape } from './fixture.ts'
import { measurePostgres, measureSqlite, type Sizes } from './measure.ts'

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')))
const N = Number(args.blobs ?? 200_000)
const engine = (args.db ?? 'sqlite') as 'sqlite' | 'postgres'
const BATCH = 500
const T0 = 1_700_000_000_000

async function insertAll<T>(db: Db, label: string, rows: Generator<T[]>, insert: (tx: Db, batch: T[]) => Promise<unknown>): Promise<void> {
  const started = performance.now()
  let n = 0
  // 40 batches (20,000 rows) per transaction: bulk loading, not the origin's one-push transactions.
  let group: T[][] = []
  const flush = async () => {
    const g = group
    group = []
    await db.transaction(async (tx) => { for (const b of g) await insert(tx, b) })
  }
  for (const b of rows) {
    group.push(b)
    n += b.length
    if (group.length >= 40) await flush()
  }
  if (group.length) await flush()
  console.error(`  ${label}: ${n} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}

/** The change rows the origin appends for this registry, in push order per blob / manifest / tag. */
function* changeRows(s: Shape): Generator<{ kind: string; repository: string | null; payload: string; at: number }[]> {
  let batch: { kind: string; repository: string | null; payload: string; at: number }[] = []
  const push = (kind: string, repository: string | null, payload: object, at: number) => { batch.push({ kind, repository, payload: JSON.stringify(payload), at }) }
  for (let i = 0; i < s.blobs; i++) {
    for (const r of linksOf(i, s)) push('blob.linked', repositoryName(r), { digest: blobDigest(i), size: blobSize(i) }, T0 + i)
    for (const location of LOCATIONS) push('placement.present', null, { digest: blobDigest(i), location, size: blobSize(i) }, T0 + i)
    if (i % 5 === 4) {
      const m = Math.floor(i / 5)
      push('manifest.put', repositoryName(manifestRepository(m, s)), { digest: manifestDigest(m), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: manifestPayload(m, s).byteLength, subject: null, artifactType: null, annotations: null }, T0 + i)
    }
    if (i % 10 === 9) {
      const t = tagOf(Math.floor(i / 10), s)
      push('tag.set', repositoryName(t.repository), { tag: t.name, digest: manifestDigest(t.manifest) }, T0 + i)
    }
    if (batch.length >= BATCH) { yield batch; batch = [] }
  }
  if (batch.length) yield batch
}

async function populate(db: Db, s: Shape): Promise<Record<string, number>> {
  await insertAll(db, 'repositories', batches(s.repositories, BATCH, (i) => ({ name: repositoryName(i), createdAt: T0 })), (tx, b) => tx.insert(repositories).values(b).run())
  await insertAll(db, 'blobs', batches(s.blobs, BATCH, (i) => ({ digest: blobDigest(i), size: blobSize(i), createdAt: T0 + i })), (tx, b) => tx.insert(blobs).values(b).run())
  // Repository ids are 1-based autoincrement in insertion order.
  await insertAll(db, 'repository_blobs', batches(s.blobs, BATCH, (i) => linksOf(i, s).map((r) => ({ repositoryId: r + 1, digest: blobDigest(i), createdAt: T0 + i }))), (tx, b) => tx.insert(repositoryBlobs).values(b).run())
  await insertAll(db, 'placements', batches(s.blobs, BATCH, (i) => LOCATIONS.map((location) => ({ digest: blobDigest(i), location, state: 'present' as const, size: blobSize(i), verifiedAt: T0 + i }))), (tx, b) => tx.insert(placements).values(b).run())
  await insertAll(db, 'replication_jobs', batches(s.blobs, BATCH, (i) => LOCATIONS.slice(1).map((location) => ({
    digest: blobDigest(i), location, state: 'done' as const, attempts: 1, dueAt: T0 + i, sourceLocation: LOCATIONS[0], createdAt: T0 + i, updatedAt: T0 + i + 200, finishedAt: T0 + i + 200,
  }))), (tx, b) => tx.insert(replicationJobs).values(b).run())
  await insertAll(db, 'manifests', batches(s.manifests, BATCH / 5, (m) => {
    const payload = manifestPayload(m, s)
    return { repositoryId: manifestRepository(m, s) + 1, digest: manifestDigest(m), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: payload.byteLength, payload, createdAt: T0 + m }
  }), (tx, b) => tx.insert(manifests).values(b).run())
  await insertAll(db, 'manifest_references', batches(s.manifests, BATCH, (m) => referencesOf(m, s).map((i) => ({ repositoryId: manifestRepository(m, s) + 1, manifestDigest: manifestDigest(m), targetDigest: blobDigest(i), kind: 'blob' as const }))), (tx, b) => tx.insert(manifestReferences).values(b).run())
  await insertAll(db, 'tags', batches(s.tags, BATCH, (t) => { const g = tagOf(t, s); return { repositoryId: g.repository + 1, name: g.name, digest: manifestDigest(g.manifest), updatedAt: T0 + t } }), (tx, b) => tx.insert(tags).values(b).run())
  await insertAll(db, 'changes', changeRows(s), (tx, b) => tx.insert(changes).values(b).run())
  const counts: Record<string, number> = {}
  for (const t of ['repositories', 'blobs', 'repository_blobs', 'placements', 'replication_jobs', 'manifests', 'manifest_references', 'tags', 'changes']) {
    counts[t] = Number((await db.$all<{ n: number }>(sql.raw(`SELECT count(*) AS n FROM ${t}`)))[0].n)
  }
  return counts
}

/** The feed's two rates: pages of 1,000 read back to back, and one-change commits (1 and 8 at once). */
async function feedRates(db: Db): Promise<Record<string, number>> {
  let after = 0
  let read = 0
  const started = performance.now()
  while (read < 300_000) {
    const page = await db.select().from(changes).where(gt(changes.seq, after)).orderBy(asc(changes.seq)).limit(1000).all()
    if (page.length === 0) break
    read += page.length
    after = page[page.length - 1].seq
  }
  const readPerSecond = read / ((performance.now() - started) / 1000)
  const commit = async (count: number) => {
    for (let k = 0; k < count; k++) {
      await db.transaction(async (tx) => { await tx.insert(changes).values({ kind: 'tag.set', repository: 'team-0000/service-0', payload: '{"tag":"latest","digest":"' + blobDigest(k) + '"}', at: Date.now() }).run() })
    }
  }
  let t = performance.now()
  await commit(2000)
  const commitsPerSecond1 = 2000 / ((performance.now() - t) / 1000)
  t = performance.now()
  await Promise.all(Array.from({ length: 8 }, () => commit(500)))
  const commitsPerSecond8 = 4000 / ((performance.now() - t) / 1000)
  return { readPerSecond, commitsPerSecond1, commitsPerSecond8 }
}

async function main(): Promise<void> {
  const s = shape(N)
  let cluster: PostgresCluster | null = null
  const dir = mkdtempSync(join(tmpdir(), 'meridian-capacity-'))
  const url = engine === 'postgres' ? (cluster = await startPostgres()).url : `sqlite:${join(dir, 'meridian.db')}`
  const db = await openDatabase(url)
  try {
    console.error(`${engine}: populating ${N} blobs`, s)
    const counts = await populate(db, s)
    const sizes: Sizes = engine === 'postgres' ? await measurePostgres(db) : await measureSqlite(db, join(dir, 'meridian.db'))
    const feed = await feedRates(db)
    console.log(JSON.stringify({ engine, blobs: N, shape: s, counts, sizes, feed }, null, 2))
  } finally {
    await closeDatabase(db)
    await cluster?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
