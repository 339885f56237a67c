// Turns the JSON of origin-sizes.ts / edge-sizes.ts runs into the markdown tables of
// docs/scaling.md: bytes per row of each table and index as measured, and the same scaled
// linearly to a target blob count (every table's rows are proportional to blobs in the fixture).
//
//   npx tsx scripts/capacity/report.ts --target=100000000 /tmp/capacity/sqlite-200k.json ...

import { readFileSync } from 'node:fs'
import type { Sizes } from './measure.ts'

const args = process.argv.slice(2)
const target = Number(args.find((a) => a.startsWith('--target='))?.slice(9) ?? 100_000_000)
const files = args.filter((a) => !a.startsWith('--'))

const GB = 1e9
const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

for (const file of files) {
  const run = JSON.parse(readFileSync(file, 'utf8')) as { engine: string; blobs: number; counts: Record<string, number>; sizes: Sizes; changesPerSecond?: number; feed?: Record<string, number>; compact?: { rows: number; bytes: number; bytesPerRow: number } }
  const factor = target / run.blobs
  console.log(`\n### ${run.engine}, ${run.blobs.toLocaleString('en-US')} blobs measured, × ${fmt(factor, 0)} to ${target.toLocaleString('en-US')} blobs\n`)
  console.log('| table | rows measured | table B/row | indexes (B/row each) | total B/row | rows at target | total at target (GB) |')
  console.log('|---|---:|---:|---|---:|---:|---:|')
  let sum = 0
  const tables = run.sizes.tables.filter((t) => (run.counts[t.table] ?? 0) > 0).sort((a, b) => b.totalBytes - a.totalBytes)
  for (const t of tables) {
    const rows = run.counts[t.table]
    const heap = t.heapBytes + t.toastBytes
    const idx = Object.entries(t.indexes).map(([name, b]) => `${name.replace(/^sqlite_autoindex_/, 'pk:')} ${fmt(b / rows, 0)}`).join(', ')
    const total = t.totalBytes * factor
    sum += total
    console.log(`| ${t.table} | ${rows.toLocaleString('en-US')} | ${fmt(heap / rows, 0)}${t.toastBytes ? ` (TOAST ${fmt(t.toastBytes / rows, 0)})` : ''} | ${idx || '—'} | ${fmt(t.totalBytes / rows, 0)} | ${Math.round(rows * factor).toLocaleString('en-US')} | ${fmt(total / GB)} |`)
  }
  console.log(`| **all** | | | | | | **${fmt(sum / GB)}** |`)
  console.log(`\ndatabase file/cluster bytes measured: ${fmt(run.sizes.databaseBytes / 1e6)} MB → × factor ${fmt(run.sizes.databaseBytes * factor / GB)} GB`)
  if (run.feed) console.log(`feed: page reads ${fmt(run.feed.readPerSecond, 0)} changes/s; one-change commits ${fmt(run.feed.commitsPerSecond1, 0)}/s (1 at a time), ${fmt(run.feed.commitsPerSecond8, 0)}/s (8 at once)`)
  if (run.changesPerSecond) console.log(`edge apply: ${fmt(run.changesPerSecond, 0)} changes/s`)
  if (run.compact) console.log(`compact blob_locations (not in the index today): ${fmt(run.compact.bytesPerRow, 0)} B/row, ${run.compact.rows.toLocaleString('en-US')} rows → ${fmt(run.compact.bytes * factor / GB)} GB at target`)
}
