// One claim-and-complete worker process for scripts/bench/scale-jobs.ts: `loops` loops, each
// claiming one job at a time (db/queries/replication.ts claimDueJobs, limit 1) and completing it
// (completeJob: placement present + change appended + job done, one transaction). With
// SCALE_COPY_ROOT set, each job also copies a small file as a worker would (read, SHA-256, write
// with fsync) between claim and complete; otherwise the worker does no work of its own, so the
// figure is the database's. Prints "ready", waits for one stdin line {from, until} (epoch ms),
// counts the jobs it completes inside that window, prints one JSON line and exits (with the
// SQLITE_BUSY retries it needed, warm-up included).
// SCALE_WARMUP_JOBS=n: claim and complete n jobs before "ready", at full speed, so a process
// the caller then holds to a small CPU budget is measured warm (V8 optimises code by how often
// it ran: a worker at 0.15 CPU would spend its whole window still warming up).

import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { closeDatabase, openDatabase } from '../../db/client.ts'
import { claimDueJobs, completeJob } from '../../db/queries/replication.ts'

const url = process.env.SCALE_DATABASE_URL!
const loops = Number(process.env.SCALE_LOOPS ?? '1')
const copyRoot = process.env.SCALE_COPY_ROOT ?? null
const owner = `bench-${process.pid}`
const warmupJobs = Number(process.env.SCALE_WARMUP_JOBS ?? '0')

let busy = 0
/**
 * `step`, again while SQLite answers SQLITE_BUSY: its busy handler is not fair, so with several
 * writer processes one can wait out the whole busy_timeout (5 s) behind the others. The real
 * worker retries at its next poll; this one retries at once and counts it (reported).
 */
async function retryBusy<T>(step: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await step()
    } catch (err) {
      const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code
      if (code !== 'SQLITE_BUSY') throw err
      busy++
    }
  }
}

const db = await openDatabase(url)
// A warm connection per loop before the clock starts.
await Promise.all(Array.from({ length: loops }, () => db.$execute('SELECT 1', [], 'get')))
if (copyRoot) mkdirSync(join(copyRoot, 'to'), { recursive: true })
for (let i = 0; i < warmupJobs; i++) {
  const [job] = await retryBusy(() => claimDueJobs(db, { owner, limit: 1, leaseMs: 600_000 }))
  if (!job) break
  await retryBusy(() => completeJob(db, job, { size: 1, source: 'a' }))
}
process.stdout.write('ready\n')

const line = await new Promise<string>((resolve) => createInterface({ input: process.stdin }).once('line', resolve))
const { from, until } = JSON.parse(line) as { from: number; until: number }
while (Date.now() < from - 500) await new Promise((r) => setTimeout(r, 10))

let count = 0
let exhausted = false
// CPU from `from` on (the loops start 500 ms earlier), so CPU per job divides like by like.
let cpu0 = process.cpuUsage()
const cpuTimer = setTimeout(() => { cpu0 = process.cpuUsage() }, from - Date.now())
await Promise.all(Array.from({ length: loops }, async () => {
  while (Date.now() < until) {
    const [job] = await retryBusy(() => claimDueJobs(db, { owner, limit: 1, leaseMs: 600_000 }))
    if (!job) { exhausted = true; return }
    let size = 1
    if (copyRoot) {
      // The seeded source file of this job's blob (scale-jobs.ts writes one per digest).
      const bytes = await readFile(join(copyRoot, 'from', job.digest.slice(7)))
      if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== job.digest) throw new Error(`bad source for ${job.digest}`)
      await writeFile(join(copyRoot, 'to', `${job.digest.slice(7)}-${job.location}`), bytes, { flush: true })
      size = bytes.byteLength
    }
    await retryBusy(() => completeJob(db, job, { size, source: 'a' }))
    const now = Date.now()
    if (now >= from && now < until) count++
  }
}))
clearTimeout(cpuTimer)
const cpu = process.cpuUsage(cpu0)
process.stdout.write(`${JSON.stringify({ count, exhausted, cpuSeconds: (cpu.user + cpu.system) / 1e6, busy })}\n`)
await closeDatabase(db)
