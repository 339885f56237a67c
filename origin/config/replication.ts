// The `replication:` block. Every field is optional; defaults.ts says what is used instead.

import type { ReplicationConfig } from './types.ts'
import { at, problem, type Report } from './report.ts'
import { checkKeys, readBoolean, readMap, readNumber } from './read-values.ts'

const COUNTS = ['maxAttempts', 'concurrency', 'leaseSeconds', 'backoffBaseMs', 'backoffMaxMs', 'reconcileIntervalSeconds'] as const
const REPLICATION_KEYS = ['enabled', 'workerInProcess', ...COUNTS, 'jobRetentionHours'] as const

export function readReplication(report: Report, value: unknown, defaults: ReplicationConfig): ReplicationConfig {
  const out = { ...defaults }
  const map = readMap(report, value, 'replication')
  if (!map) return out
  checkKeys(report, map, REPLICATION_KEYS, 'replication')
  out.enabled = readBoolean(report, map.enabled, 'replication.enabled') ?? out.enabled
  out.workerInProcess = readBoolean(report, map.workerInProcess, 'replication.workerInProcess') ?? out.workerInProcess
  for (const key of COUNTS) {
    out[key] = readNumber(report, map[key], at('replication', key), { integer: true, min: 1 }) ?? out[key]
  }
  out.jobRetentionHours = readNumber(report, map.jobRetentionHours, 'replication.jobRetentionHours', { integer: true, min: 0 }) ?? out.jobRetentionHours
  if (out.backoffMaxMs < out.backoffBaseMs) {
    problem(report, 'replication.backoffMaxMs', `must be >= backoffBaseMs (${out.backoffBaseMs}), got ${out.backoffMaxMs}`)
  }
  return out
}
