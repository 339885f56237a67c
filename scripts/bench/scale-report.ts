// The scale benchmark's table: one row per figure, SQLite and PostgreSQL side by side (measured
// in the same run), the ratio the goal is judged on, the goal, ✔ / ✘ (or "info").

export interface ScaleRow {
  figure: string
  sqlite: string
  postgres: string
  ratio: string
  goal: string
  /** null: informational, no goal. */
  pass: boolean | null
}

export function formatScaleTable(rows: ScaleRow[]): string {
  const header = ['figure', 'SQLite', 'PostgreSQL', 'ratio', 'goal', 'result']
  const cells = rows.map((r) => [r.figure, r.sqlite, r.postgres, r.ratio, r.goal, r.pass === null ? 'info' : r.pass ? '✔' : '✘'])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c: string[]) => c.map((v, i) => (i === 1 || i === 2 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

export const perSecond = (n: number) => `${n >= 100 ? Math.round(n) : n.toFixed(1)}/s`
export const times = (n: number) => `${n.toFixed(2)}×`
export const ms = (n: number) => (n >= 10 ? `${Math.round(n)}` : n.toFixed(1))
export const lagCell = (l: { p50Ms: number; p99Ms: number }) => `p50 ${ms(l.p50Ms)} / p99 ${ms(l.p99Ms)} ms`

/** A figure whose phase or engine was not run (--only, --engine). */
export const MISSING = '—'
/** "2/1: PG 1.23×, SQLite 0.98×" with whichever engines were measured ('' for none). */
export function ratioCell(label: string, pg: number | null, sqlite: number | null): string {
  const parts = [pg === null ? null : `PG ${times(pg)}`, sqlite === null ? null : `SQLite ${times(sqlite)}`].filter(Boolean)
  return parts.length ? `${label}: ${parts.join(', ')}` : ''
}
/** A job row's SQLITE_BUSY retries (a writer that waited out busy_timeout), if any. */
export const busyNote = (retries: number) => (retries > 0 ? ` (${retries} SQLITE_BUSY after busy_timeout, retried)` : '')
