// `npm run verify`: checks placements against the bytes (exists, size, digest).
//
//   --sample=N        check N random present placements (default 100)
//   --all             check every present placement
//   --location=ID     only placements in that location
//   --repair          mark bad placements missing, delete corrupt bytes, and enqueue a fresh copy
//                     from a good location (the worker then restores it)
//
// Exit status: 0 all good (or all repaired), 1 problems found, 2 configuration error.

import { sql } from 'drizzle-orm'
import { openDatabase, closeDatabase } from '../db/client.ts'
import { placements } from '../db/schema.ts'
import { enqueueReplication, markPlacementMissing } from '../db/queries/placements.ts'
import { openLocationSet } from '../origin/location-roots.ts'
import { createLogger } from '../origin/log.ts'
import { createNativeHasher } from '../origin/hasher.ts'
import { verifyPlacement } from '../origin/replication/verify.ts'
import { blobKey } from '../storage/keys.ts'
import { configOrExit, formatBytes, parseFlags, progressLine } from './cli.ts'

const flags = parseFlags(process.argv.slice(2))
const config = configOrExit()
const db = await openDatabase(config.databaseUrl)
// Roots checked against their markers: a vanished volume reads as unreadable, never as missing.
const locations = await openLocationSet(db, config.locations, config.preference, createLogger({ level: 'warn' }))
const only = typeof flags.get('location') === 'string' ? flags.get('location') as string : null
const sample = flags.has('all') ? null : Number(flags.get('sample') ?? 100)
const repair = flags.has('repair')

const where = only ? sql`state = 'present' and location = ${only}` : sql`state = 'present'`
const rows = sample === null
  ? await db.select().from(placements).where(where).all()
  : await db.select().from(placements).where(where).orderBy(sql`random()`).limit(sample).all()

let checked = 0, bytes = 0, bad = 0, repaired = 0
for (const p of rows) {
  const location = locations.get(p.location)
  checked++
  if (!location) {
    process.stdout.write(`SKIP ${p.digest} in ${p.location}: location not configured\n`)
    continue
  }
  const result = await verifyPlacement(location.engine, p.digest, p.size, createNativeHasher)
  bytes += result.bytesRead
  if (result.ok) {
    progressLine('verify', checked, rows.length, `${bad} bad, ${formatBytes(bytes)} read`)
    continue
  }
  bad++
  process.stdout.write(`${process.stderr.isTTY ? '\n' : ''}BAD  ${p.digest} in ${p.location}: ${result.problem}\n`)
  // Unreadable is not proof of bad bytes (a timeout, a blip): report it, never delete on it.
  if (repair && result.problem !== 'unreadable') {
    // Database first: from here on nothing names these bytes, so deleting them loses nothing.
    await db.transaction(async (tx) => {
      await markPlacementMissing(tx, p.digest, p.location)
      await enqueueReplication(tx, p.digest, [p.location])
    })
    if (result.problem !== 'missing') await location.engine.delete(blobKey(p.digest)).catch(() => undefined)
    repaired++
  }
}
process.stderr.write('\n')
process.stdout.write(`checked ${checked} placements (${formatBytes(bytes)} read): ${bad} bad${repair ? `, ${repaired} queued for repair` : ''}\n`)
await locations.close()
await closeDatabase(db)
process.exit(bad > repaired ? 1 : 0)
