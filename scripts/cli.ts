// Shared plumbing for the operator scripts: flags, config, database, a progress line.

import { loadConfigOrExit } from '../origin/config/load-or-exit.ts'
import type { MeridianConfig } from '../origin/config/types.ts'

/** `--name=value`, `--name value` and bare `--flag` (true). */
export function parseFlags(argv: string[]): Map<string, string | true> {
  const flags = new Map<string, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) continue
    const eq = a.indexOf('=')
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1))
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) flags.set(a.slice(2), argv[++i])
    else flags.set(a.slice(2), true)
  }
  return flags
}

export function configOrExit(): MeridianConfig {
  return loadConfigOrExit(process.env)
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

/** A one-line progress bar on a TTY, a plain line per update elsewhere. */
export function progressLine(label: string, done: number, total: number | null, extra: string): void {
  const width = 30
  const bar = total ? '#'.repeat(Math.round((done / Math.max(total, 1)) * width)).padEnd(width, '.') : ''
  const text = `${label} ${total ? `[${bar}] ${done}/${total}` : done} ${extra}`
  if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`)
  else process.stderr.write(`${text}\n`)
}
