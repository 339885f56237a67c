// Typed readers over the parsed YAML tree. Each reports a problem at its path and returns
// undefined when the value is unusable, so loading goes on and finds the next problem too.
// Absent means undefined or null (YAML `key:` with nothing after it).
//
// Numbers and booleans may also be written as strings ("5000", "true"): `${VAR}` substitution
// always yields strings, and `port: ${PORT}` should work.

import { at, problem, warn, type Report } from './report.ts'

export type YamlMap = Record<string, unknown>

export function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list'
  if (isMap(value)) return 'a map'
  return JSON.stringify(value)
}

export function readMap(report: Report, value: unknown, path: string): YamlMap | undefined {
  if (isAbsent(value)) return undefined
  if (isMap(value)) return value
  problem(report, path, `expected a map, got ${describe(value)}`)
  return undefined
}

export function readList(report: Report, value: unknown, path: string): unknown[] | undefined {
  if (isAbsent(value)) return undefined
  if (Array.isArray(value)) return value
  problem(report, path, `expected a list, got ${describe(value)}`)
  return undefined
}

export function readString(report: Report, value: unknown, path: string, options: { required?: boolean } = {}): string | undefined {
  if (isAbsent(value) || value === '') {
    if (options.required) problem(report, path, 'required')
    return undefined
  }
  if (typeof value === 'string') return value
  // A secret like 0123 would silently become 123 as a YAML number: ask for quotes instead.
  problem(report, path, `expected a string, got ${describe(value)} (quote it)`)
  return undefined
}

export function readStringList(report: Report, value: unknown, path: string): string[] | undefined {
  const list = readList(report, value, path)
  if (!list) return undefined
  const out: string[] = []
  list.forEach((item, i) => {
    const text = readString(report, item, `${path}[${i}]`, { required: true })
    if (text !== undefined) out.push(text)
  })
  return out
}

/** "true"/"false" and the usual spellings from environment files; null when it is none of them. */
export function parseBooleanText(text: string): boolean | null {
  const t = text.trim().toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(t)) return true
  if (['false', '0', 'no', 'off'].includes(t)) return false
  return null
}

export function readBoolean(report: Report, value: unknown, path: string): boolean | undefined {
  if (isAbsent(value)) return undefined
  if (typeof value === 'boolean') return value
  if (typeof value === 'string') {
    const parsed = parseBooleanText(value)
    if (parsed !== null) return parsed
  }
  problem(report, path, `expected true or false, got ${describe(value)}`)
  return undefined
}

export interface NumberRule {
  min?: number
  max?: number
  integer?: boolean
}

export function checkNumber(report: Report, n: number, path: string, rule: NumberRule): number | undefined {
  if (rule.integer && !Number.isInteger(n)) {
    problem(report, path, `expected an integer, got ${n}`)
    return undefined
  }
  if ((rule.min !== undefined && n < rule.min) || (rule.max !== undefined && n > rule.max)) {
    const range = rule.max === undefined ? `>= ${rule.min}` : rule.min === undefined ? `<= ${rule.max}` : `${rule.min}..${rule.max}`
    problem(report, path, `must be ${range}, got ${n}`)
    return undefined
  }
  return n
}

export function readNumber(report: Report, value: unknown, path: string, rule: NumberRule = {}): number | undefined {
  if (isAbsent(value)) return undefined
  let n: number | undefined
  if (typeof value === 'number') n = value
  else if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) n = Number(value)
  if (n === undefined || !Number.isFinite(n)) {
    problem(report, path, `expected a number, got ${describe(value)}`)
    return undefined
  }
  return checkNumber(report, n, path, rule)
}

/** Unknown keys inside our own blocks are typos more often than not (`readonly: true`). */
export function checkKeys(
  report: Report,
  map: YamlMap,
  allowed: readonly string[],
  path: string,
  severity: 'problem' | 'warning' = 'problem',
): void {
  for (const key of Object.keys(map)) {
    if (allowed.includes(key)) continue
    const message = `unknown key (expected one of: ${allowed.join(', ')})`
    if (severity === 'problem') problem(report, at(path, key), message)
    else warn(report, at(path, key), message)
  }
}

/**
 * An http(s) URL, without trailing slashes; with `bare`, also without query or fragment. A
 * problem (and undefined) otherwise.
 */
export function checkHttpUrl(report: Report, value: string | undefined, path: string, options: { bare?: boolean } = {}): string | undefined {
  if (value === undefined) return undefined
  let url: URL | null = null
  try {
    url = new URL(value)
  } catch {
    // reported below
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    problem(report, path, `expected an http(s) URL, got "${value}"`)
    return undefined
  }
  if (options.bare && (url.search || url.hash)) {
    problem(report, path, `expected an http(s) URL without query or fragment, got "${value}"`)
    return undefined
  }
  return value.replace(/\/+$/, '')
}
