// `npm run backfill`: enqueue replication for every blob whose placements fall short of policy
// (Quay: `python -m util.backfillreplication`). The worker does the copying.
//
//   --dry-run            count what would be enqueued, change nothing
//   --namespace=acme     only blobs linked into acme/*
//   --wait               after enqueueing, show replication progress until the backlog is empty
//   --restart            ignore the saved cursor and start from the first blob
//   --limit=N            stop after scanning about N blobs (whole pages of --page-size); the next
//                        run resumes where this one stopped, as after Ctrl-C
//   --page-size=N        blobs per page (default 500)
//
// Resumable: the cursor (last digest done) is saved in <dataDir>/backfill.cursor after every
// page, and Ctrl-C stops after the current page. Enqueueing is idempotent, so running it twice
// is harmless.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase, closeDatabase } from '../db/client.ts'
import { replicationPolicy } from '../origin/replication/policy.ts'
import { reconcilePage } from '../origin/replication/reconcile.ts'
import { backlogByLocation } from '../db/queries/replication.ts'
import { blobs } from '../db/schema.ts'
import { sql } from 'drizzle-orm'
import { configOrExit, formatBytes, parseFlags, progressLine } from './cli.ts'

const flags = parseFlags(process.argv.slice(2))
const dryRun = flags.has('dry-run')
const namespace = typeof flags.get('namespace') === 'string' ? flags.get('namespace') as string : null
const config = configOrExit()
const db = await openDatabase(config.databaseUrl)
const policy = await replicationPolicy(db, config)
const cursorFile = join(config.dataDir, `backfill${namespace ? `.${namespace}` : ''}.cursor`)
let cursor: string | null = !flags.has('restart') && !dryRun && existsSync(cursorFile) ? readFileSync(cursorFile, 'utf8').trim() || null : null
if (cursor) process.stderr.write(`resuming after ${cursor}\n`)

const limit = flags.has('limit') ? Number(flags.get('limit')) : Infinity
const pageSize = Math.max(1, Number(flags.get('page-size') ?? 500) || 500)
let stopping = false
process.on('SIGINT', () => { stopping = true })

const total = (await db.select({ n: sql<number>`count(*)` }).from(blobs).get())!.n
const totals = { scanned: 0, blobs: 0, jobs: 0, bytes: 0 }
for (;;) {
  const r = await reconcilePage(db, policy.targetsFor, { after: cursor, limit: pageSize, namespace, dryRun })
  totals.scanned += r.scanned; totals.blobs += r.blobs; totals.jobs += r.jobs; totals.bytes += r.bytes
  progressLine(dryRun ? 'scanning (dry run)' : 'backfill', totals.scanned, total, `${totals.jobs} copies of ${totals.blobs} blobs, ${formatBytes(totals.bytes)}`)
  cursor = r.cursor
  if (!dryRun) cursor ? writeFileSync(cursorFile, cursor) : rmSync(cursorFile, { force: true })
  if (!cursor) break
  if (stopping || totals.scanned >= limit) {
    process.stderr.write(`\n${stopping ? 'interrupted' : `stopped after ${totals.scanned} blobs`}: run again to resume after ${cursor}\n`)
    process.stdout.write(`${dryRun ? 'would enqueue' : 'enqueued'} ${totals.jobs} copies of ${totals.blobs} blobs (${formatBytes(totals.bytes)}); scanned ${totals.scanned}; not finished\n`)
    await closeDatabase(db)
    process.exit(stopping ? 130 : 0)
  }
}
process.stderr.write('\n')
process.stdout.write(`${dryRun ? 'would enqueue' : 'enqueued'} ${totals.jobs} copies of ${totals.blobs} blobs (${formatBytes(totals.bytes)}); scanned ${totals.scanned}\n`)

if (flags.has('wait') && !dryRun) {
  const start = (await backlogByLocation(db)).reduce((n, b) => n + b.pending + b.running, 0)
  while (!stopping) {
    const backlog = await backlogByLocation(db)
    const left = backlog.reduce((n, b) => n + b.pending + b.running, 0)
    const bytes = backlog.reduce((n, b) => n + b.pendingBytes, 0)
    const dead = backlog.reduce((n, b) => n + b.dead, 0)
    progressLine('replicating', start - left, start, `${formatBytes(bytes)} left, ${dead} dead`)
    if (left === 0) break
    await new Promise((r) => setTimeout(r, 1000))
  }
  process.stderr.write('\n')
}
await closeDatabase(db)
