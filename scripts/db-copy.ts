// `npm run db:copy -- --to postgres://…`: moves this deployment's metadata from its SQLite database
// to PostgreSQL, resumably and verified (docs/db-copy.md). Stop every origin and worker first.
//
//   --to URL       the PostgreSQL database (empty, or one an interrupted db:copy left)
//   --from URL     sqlite:<path> (default: the configured databaseUrl, as the origin reads it)
//   --batch N      rows per batch and per target transaction (default 1000)
//
// Exit status: 0 copied and verified, 1 refused or a table differs, 2 usage or configuration error.

import { existsSync } from 'node:fs'
import { closeDatabase, openDatabase, type Db } from '../db/client.ts'
import { copyDatabase, CopyRefused, type CopyProgress, type TableReport } from '../db/copy.ts'
import { configOrExit, parseFlags, progressLine } from './cli.ts'

const USAGE = 'usage: npm run db:copy -- --to postgres://user:password@host/db [--from sqlite:<path>] [--batch 1000]\n'

/** The URL with its password hidden, for output. */
function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')
}

function fail(status: number, message: string): never {
  process.stderr.write(`db:copy: ${message}\n`)
  process.exit(status)
}

const flags = parseFlags(process.argv.slice(2))
if (flags.has('help')) { process.stdout.write(USAGE); process.exit(0) }
const to = flags.get('to')
if (typeof to !== 'string') fail(2, `--to is required\n${USAGE}`)
if (!/^postgres(ql)?:\/\//.test(to)) fail(1, `the target ${maskUrl(to)} is not PostgreSQL: --to takes a postgres:// URL`)
const fromFlag = flags.get('from')
const from = typeof fromFlag === 'string' ? fromFlag : configOrExit().databaseUrl
if (!from.startsWith('sqlite:')) fail(1, `the source ${maskUrl(from)} is not SQLite: db:copy moves a sqlite:<path> database (--from, or the configured databaseUrl)`)
const path = from.slice('sqlite:'.length)
// openDatabase would create an empty file: a mistyped path must not copy "nothing" successfully.
if (path === ':memory:' || !existsSync(path)) fail(1, `no SQLite database at ${path}`)
const batch = Number(flags.get('batch') ?? 1000)
if (!Number.isInteger(batch) || batch < 1) fail(2, '--batch takes a positive whole number')

process.stdout.write(
  `Copying ${from} to ${maskUrl(to)}.\n` +
  'The copy is of a quiesced database: stop every origin and worker using the source first (rows written during the copy fail verification).\n',
)

let source: Db | null = null
let target: Db | null = null
let status = 0
try {
  source = await openDatabase(from)
  target = await openDatabase(to).catch((err: Error) => fail(1, `cannot open ${maskUrl(to)}: ${err.message.replaceAll(to, maskUrl(to))}`))
  const reports = await copyDatabase(source, target, { batch, onProgress: showProgress(), onNote: (t) => process.stderr.write(`${t}\n`) })
  process.stdout.write(formatReport(reports))
  const bad = reports.filter((r) => !r.ok)
  if (bad.length) {
    status = 1
    process.stdout.write(
      `\nMISMATCH in ${bad.map((r) => r.table).join(', ')}: the two sides differ (the target held other rows before the copy, or the source changed during it).\n` +
      'Stop every origin and worker on the source, then copy into an empty PostgreSQL database.\n',
    )
  } else {
    process.stdout.write(`\nVerified: every table has the same rows on both sides. Point DATABASE_URL at ${maskUrl(to)} and start the origins.\n`)
  }
} catch (err) {
  status = 1
  const text = err instanceof CopyRefused ? `refused: ${err.message}` : `failed: ${(err as Error).stack ?? err}`
  process.stderr.write(`db:copy: ${text.replaceAll(to, maskUrl(to))}\n`)
} finally {
  if (target) await closeDatabase(target)
  if (source) await closeDatabase(source)
}
process.exit(status)

/** Per table: rows done / total and rate; one rewritten line on a TTY, a line a second elsewhere. */
function showProgress(): (p: CopyProgress) => void {
  const tty = process.stderr.isTTY
  let shownAt = 0
  let shown = ''
  return (p) => {
    const now = performance.now()
    const table = `${p.phase} ${p.table}`
    const line = `${table} ${p.done}`
    if (line === shown) return
    // Elsewhere (a log): the first batch of a table being copied, then one line a second, and its end.
    const due = tty ? now - shownAt >= 100 : now - shownAt >= 1000 || (p.phase === 'copy' && !shown.startsWith(`${table} `))
    if (!p.finished && !due) return
    if (p.finished && p.phase === 'verify' && !tty) return
    shown = line
    shownAt = now
    progressLine(table, p.done, p.total, p.phase === 'copy' && p.rate > 0 ? `${Math.round(p.rate)} rows/s` : '')
    if (p.finished && tty) process.stderr.write('\n')
  }
}

function formatReport(reports: TableReport[]): string {
  const width = Math.max(5, ...reports.map((r) => r.table.length))
  const lines = [`${'table'.padEnd(width)}  ${'source'.padStart(9)}  ${'target'.padStart(9)}  ${'copied'.padStart(9)}  ${'rows/s'.padStart(8)}  checksum`]
  for (const r of reports) {
    const rate = r.copied >= 1000 && r.seconds > 0 ? String(Math.round(r.copied / r.seconds)) : '-'
    const sum = r.ok ? `ok ${r.source.checksum.slice(0, 16)}` : `MISMATCH source ${r.source.checksum.slice(0, 16)} target ${r.target.checksum.slice(0, 16)}`
    lines.push(`${r.table.padEnd(width)}  ${String(r.source.rows).padStart(9)}  ${String(r.target.rows).padStart(9)}  ${String(r.copied).padStart(9)}  ${rate.padStart(8)}  ${sum}`)
  }
  return `${lines.join('\n')}\n`
}
