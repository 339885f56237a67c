// One claim-and-complete worker process for scripts/bench/scale-jobs.ts: `loops` loops, each
// claiming one job at a time (db/queries/replication.ts claimDueJobs, limit 1) and completing it
// (completeJob: placement present + change appended + job done, one transaction). With
// SCALE_COPY_ROOT set, each job also copies a small file as a worker would (read, SHA-256, write
// with fsync) between claim and complete; otherwise the worker does no work of its own, so the
// figure is the database's. Prints "ready", then for each stdin line {from, until} (epoch ms)
// runs one window: counts the jobs it completes inside it and prints one JSON line (with the
// SQLITE_BUSY retries it needed since the last line, warm-up included in the first). Exits when
// stdin ends. Between windows it holds no job: every job it claims is completed before a loop
// looks at the clock, so an idle worker never leaves a lease for the others to wait out.
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

/** Claims one job and does it (the copy too, with SCALE_COPY_ROOT); false when none was due. */
async function oneJob(): Promise<boolean> {
  const [job] = await retryBusy(() => claimDueJobs(db, { owner, limit: 1, leaseMs: 600_000 }))
  if (!job) return false
  let size = 1
  if (copyRoot) {
    // The seeded source file of this job's blob (scale-jobs.ts writes one per digest).
    const bytes = await readFile(join(copyRoot, 'from', job.digest.slice(7)))
    if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== job.digest) throw new Error(`bad source for ${job.digest}`)
    await writeFile(join(copyRoot, 'to', `${job.digest.slice(7)}-${job.location}`), bytes, { flush: true })
    size = bytes.byteLength
  }
  await retryBusy(() => completeJob(db, job, { size, source: 'a' }))
  return true
}

// The same work as a window's, the copy included, so its code is warm too.
for (let i = 0; i < warmupJobs; i++) if (!(await oneJob())) break
process.stdout.write('ready\n')

/** One window: the loops start 500 ms before `from`; jobs completed in [from, until) count. */
async function runWindow(from: number, until: number) {
  while (Date.now() < from - 500) await new Promise((r) => setTimeout(r, 10))
  let count = 0
  let exhausted = false
  // CPU from `from` on (the loops start 500 ms earlier), so CPU per job divides like by like.
  // Taken by the loop, not a timer: on SQLite without a copy every await here resolves at once
  // (better-sqlite3 is synchronous), no timer runs until the loops end, and a timer's sample
  // counted the 500 ms before `from` too (0.175 CPU of a 0.15 budget).
  let cpu0: NodeJS.CpuUsage | null = null
  await Promise.all(Array.from({ length: loops }, async () => {
    while (Date.now() < until) {
      if (cpu0 === null && Date.now() >= from) cpu0 = process.cpuUsage()
      if (!(await oneJob())) { exhausted = true; return }
      const now = Date.now()
      if (now >= from && now < until) count++
    }
  }))
  const cpu = process.cpuUsage(cpu0 ?? process.cpuUsage())
  const result = { count, exhausted, cpuSeconds: (cpu.user + cpu.system) / 1e6, busy }
  busy = 0
  return result
}

// While idle between windows, a trivial query every 3 s keeps the pooled connection: the pool
// closes a connection idle for 10 s, and a new one would prepare and plan every statement afresh
// inside the next window (a worker left out of two windows in a row is idle ~9 s).
// Not during a window: there the loops use the connection, and a ping might open a second one.
let inWindow = false
const keepAlive = setInterval(() => { if (!inWindow) db.$execute('SELECT 1', [], 'get').catch(() => undefined) }, 3000)
for await (const line of createInterface({ input: process.stdin })) {
  const { from, until } = JSON.parse(line) as { from: number; until: number }
  inWindow = true
  process.stdout.write(`${JSON.stringify(await runWindow(from, until))}\n`)
  inWindow = false
}
clearInterval(keepAlive)
await closeDatabase(db)
