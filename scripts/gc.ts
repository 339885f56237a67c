// `npm run gc`: removes abandoned uploads (origin/uploads/cleanup.ts) and orphaned blob bytes
// (origin/uploads/sweep-orphan-blobs.ts).
//
//   --older-than=HOURS   sessions untouched, and orphaned parts unmodified, for longer (default 24)
//   --dry-run            report what would go, remove nothing
//   --force              also remove orphaned parts whose engine reports no modification time
//   --force-blobs        also remove orphaned blobs whose engine reports no modification time
//                        (their age is unknown: one whose commit is in flight may go)
//   --allow-mass-orphans sweep a location even when most of its old blobs are unknown to the
//                        database (refused by default: MASS_ORPHANS)
//   --blob-grace=HOURS   orphaned blob bytes unchanged for longer go (default 24, at least 1); its own
//                        flag, not --older-than: see ORPHAN_BLOB_GRACE_MS for why
//   --temp-grace=MINUTES temporary files (fs `.tmp/`, open S3 multipart uploads) untouched for
//                        longer go (default 15, or the configured idle timeout + 1 if longer; at
//                        least idle timeout + 1: a paused live write may still use younger ones)
//
// (a) upload sessions untouched for longer than that: the row, then their parts; (b) parts under
// uploads/ in every configured location that no session owns; (c) temporary files crashed writes
// left in every location (origin/uploads/sweep-temporary.ts); (d) keys under blobs/ in every
// writable location of blobs the registry does not know at all: no blob row, no placement in any
// location or state (bytes whose commit never came). Bytes of a known blob stay, even when no manifest or repository uses the blob any more:
// deciding that needs a stop-the-world mark phase over every manifest and repository link (pushes
// would race it), which this script does not do.
//
// Safe to run beside a live origin. Exit status: 0 done, 1 some storage operation failed (the
// next run retries it), 2 configuration or flag error.

import { openDatabase, closeDatabase } from '../db/client.ts'
import { openLocationSet } from '../origin/location-roots.ts'
import { createLogger } from '../origin/log.ts'
import { collectAbandonedUploads } from '../origin/uploads/cleanup.ts'
import { minTempGraceMs, tempGraceFor } from '../origin/uploads/sweep-temporary.ts'
import { MIN_ORPHAN_BLOB_GRACE_MS, ORPHAN_BLOB_GRACE_MS, sweepOrphanBlobs } from '../origin/uploads/sweep-orphan-blobs.ts'
import { configOrExit, formatBytes, parseFlags } from './cli.ts'

const HOUR_MS = 3_600_000

const flags = parseFlags(process.argv.slice(2))
const olderThanHours = flags.has('older-than') ? Number(flags.get('older-than')) : 24
if (!Number.isFinite(olderThanHours) || olderThanHours < 0) {
  process.stderr.write(`--older-than wants a number of hours (got ${String(flags.get('older-than'))})\n`)
  process.exit(2)
}
const blobGraceMs = flags.has('blob-grace') ? Number(flags.get('blob-grace')) * HOUR_MS : ORPHAN_BLOB_GRACE_MS
if (!Number.isFinite(blobGraceMs) || blobGraceMs < MIN_ORPHAN_BLOB_GRACE_MS) {
  process.stderr.write(`--blob-grace wants hours, at least ${MIN_ORPHAN_BLOB_GRACE_MS / HOUR_MS} (bytes younger may still await their commit; got ${String(flags.get('blob-grace'))})\n`)
  process.exit(2)
}
const dryRun = flags.has('dry-run')
const config = configOrExit()
// A live upload paused for up to the origin's idle timeout still owns its temp file.
const idleTimeoutMs = config.origin.idleTimeoutMs
const tempGraceMs = flags.has('temp-grace') ? Number(flags.get('temp-grace')) * 60_000 : tempGraceFor(idleTimeoutMs)
if (!Number.isFinite(tempGraceMs) || tempGraceMs < minTempGraceMs(idleTimeoutMs)) {
  process.stderr.write(
    `--temp-grace wants minutes, at least ${Math.ceil(minTempGraceMs(idleTimeoutMs) / 60_000)} ` +
    `(the origin's idle timeout, ${idleTimeoutMs / 1000} s, plus a minute; got ${String(flags.get('temp-grace'))})\n`,
  )
  process.exit(2)
}
const db = await openDatabase(config.databaseUrl)
const log = createLogger({ level: 'warn' })
// Roots checked against their markers, as the origin does: a foreign volume mounted at a root is
// refused (its `.tmp/` never swept, its `uploads/` never taken for orphans), a vanished one too.
const locations = await openLocationSet(db, config.locations, config.preference, log)
const verb = dryRun ? 'would remove' : 'removed'

const result = await collectAbandonedUploads({ db, locations, log }, {
  olderThanMs: olderThanHours * HOUR_MS,
  dryRun,
  force: flags.has('force'),
  tempGraceMs,
  onTemp: (item) => process.stdout.write(`${verb} ${item.items} temporary files in ${item.location}: ${formatBytes(item.bytes)}\n`),
  onItem: (item) => process.stdout.write(
    `${verb} ${item.kind === 'session' ? 'session' : 'orphan '} ${item.id} in ${item.location}: ${item.parts} parts, ${formatBytes(item.bytes)}\n`,
  ),
})

const total = result.sessionBytes + result.orphanBytes + result.tempBytes
process.stdout.write(
  `${verb} ${result.sessions} stale upload sessions (${result.sessionParts} parts, ${formatBytes(result.sessionBytes)})` +
  `, ${result.orphanParts} orphaned parts (${formatBytes(result.orphanBytes)})` +
  ` and ${result.tempItems} temporary files (${formatBytes(result.tempBytes)}), ${formatBytes(total)} in all;` +
  ` ${result.skipped} skipped, ${result.errors} errors\n`,
)
if (result.skipped > 0 && !flags.has('force')) {
  process.stderr.write(`${result.skipped} keys skipped: not upload parts, or the engine gave no modification time (--force removes those)\n`)
}

// After the upload sweep: stale sessions are gone by now, so they no longer hold back the cut-off.
const orphans = await sweepOrphanBlobs({ db, locations, log }, {
  graceMs: blobGraceMs,
  dryRun,
  force: flags.has('force-blobs'),
  allowMassOrphans: flags.has('allow-mass-orphans'),
  onItem: (item) => process.stdout.write(`${verb} orphaned blob ${item.digest} in ${item.location}: ${formatBytes(item.bytes)}\n`),
  onLocation: (tally) => process.stdout.write(`${verb} ${tally.blobs} orphaned blobs in ${tally.location}: ${formatBytes(tally.bytes)}\n`),
  onDown: (location, error) => process.stderr.write(`cannot sweep orphaned blobs in ${location}, skipped: ${error}\n`),
})
process.stdout.write(
  `${verb} ${orphans.blobs} orphaned blobs (${formatBytes(orphans.bytes)}); ${orphans.skipped} skipped, ${orphans.errors} errors` +
  `${orphans.down.length > 0 ? `; not swept: ${orphans.down.join(', ')}` : ''}\n`,
)
if (orphans.skipped > 0 && !flags.has('force-blobs')) {
  process.stderr.write(`${orphans.skipped} keys under blobs/ skipped: not blob keys, or the engine gave no modification time (--force-blobs removes the latter)\n`)
}
await locations.close()
await closeDatabase(db)
process.exit(result.errors + orphans.errors > 0 ? 1 : 0)
