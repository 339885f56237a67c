// The benchmark's output: one table for people, one JSON file for tools and history.

import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { cpus, totalmem } from 'node:os'

export interface ResultRow {
  operation: string
  mibPerSec: number | null
  seconds: number | null
  baselineMibPerSec: number | null
  /** Throughput rows: baseline seconds / origin seconds (1.0 = as fast as raw). */
  ratio: number | null
  /** CPU the origin (or reference server) process used for the operation, all threads, seconds. */
  cpuSeconds: number | null
  /** Memory rows: the origin's peak resident set, MiB. */
  peakMiB: number | null
  goal: string
  /** null: informational, no goal. */
  pass: boolean | null
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const fixed = (value: number | null, digits: number) => (value === null ? '' : value.toFixed(digits))

export function formatTable(rows: ResultRow[]): string {
  const header = ['operation', 'MiB/s', 'seconds', 'server CPU s', 'baseline MiB/s', 'ratio', 'peak RSS MiB', 'goal', 'result']
  const cells = rows.map((r) => [
    r.operation,
    fixed(r.mibPerSec, 0),
    fixed(r.seconds, 2),
    fixed(r.cpuSeconds, 2),
    fixed(r.baselineMibPerSec, 0),
    fixed(r.ratio, 2),
    fixed(r.peakMiB, 1),
    r.goal,
    r.pass === null ? 'info' : r.pass ? 'PASS' : 'FAIL',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  // Text left-aligned, numbers right-aligned.
  const line = (c: string[]) => c.map((v, i) => (i === 0 || i >= 7 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

export function machineInfo() {
  const cpu = cpus()
  return { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', node: process.version, totalMemMiB: Math.round(totalmem() / 2 ** 20), platform: `${process.platform}-${process.arch}` }
}

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n')
}

/** An operation measured against a raw baseline: ratio = baseline seconds / seconds. */
export function throughputRow(operation: string, sizeMiB: number, m: { seconds: number; cpuSeconds?: number }, baselineSeconds: number, goal: number | null): ResultRow {
  const ratio = baselineSeconds / m.seconds
  return {
    operation, seconds: m.seconds, cpuSeconds: m.cpuSeconds ?? null, mibPerSec: sizeMiB / m.seconds, baselineMibPerSec: sizeMiB / baselineSeconds,
    ratio, peakMiB: null, goal: goal === null ? '' : `ratio >= ${goal}`, pass: goal === null ? null : ratio >= goal,
  }
}

/** A figure for context, with no goal. */
export function infoRow(operation: string, sizeMiB: number, m: { seconds: number; cpuSeconds?: number }): ResultRow {
  return { operation, seconds: m.seconds, cpuSeconds: m.cpuSeconds ?? null, mibPerSec: sizeMiB / m.seconds, baselineMibPerSec: null, ratio: null, peakMiB: null, goal: '', pass: null }
}

export function memoryRow(operation: string, peakMiB: number, limitMiB: number): ResultRow {
  return { operation, seconds: null, cpuSeconds: null, mibPerSec: null, baselineMibPerSec: null, ratio: null, peakMiB, goal: `< ${limitMiB} MiB`, pass: peakMiB < limitMiB }
}

