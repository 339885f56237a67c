// Turning untrusted text (a header, `request.cf`, a database record) into a Position.

import type { Position } from './locate.ts'

/** Parses a latitude/longitude pair given as numbers or decimal strings. Null when either is
 * missing, not a finite decimal number, or out of range (|lat| ≤ 90, |lon| ≤ 180). */
export function toPosition(lat: unknown, lon: unknown, source: string): Position | null {
  const latitude = toNumber(lat)
  const longitude = toNumber(lon)
  if (latitude === null || longitude === null) return null
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null
  return { lat: latitude, lon: longitude, source }
}

function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value !== 'string') return null
  // Number('') is 0 and Number('0x10') is 16: accept plain decimals only.
  const text = value.trim()
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)$/.test(text)) return null
  return Number(text)
}
