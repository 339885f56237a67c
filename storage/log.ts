// One JSON line per event. Portable (origin and edge both log this way); the writer is the
// runtime's: origin/log.ts writes to stderr, edges to console.error. Fields are structured; never
// pass secrets or raw errors from SDKs whose messages may embed credentials (describeError).

import { redact } from './errors.ts'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export function createLogger(options: { level?: LogLevel; write?: (line: string) => void; base?: LogFields } = {}): Logger {
  const { level = 'info', write = (line) => console.error(line), base = {} } = options
  const emit = (lvl: LogLevel) => (msg: string, fields: LogFields = {}) => {
    if (RANK[lvl] < RANK[level]) return
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...fields }))
  }
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }

/**
 * An error's message made safe for logs: no stack, no signatures, keys or passwords. A failed
 * database statement (drizzle's DrizzleQueryError: the SQL and every bound value in its message,
 * the database's own error as its cause) is described by its cause and the statement's first
 * words only: bound values can be password hashes, token hashes or private keys.
 */
export function describeError(err: unknown): string {
  if (isFailedQuery(err)) return `${describeError(err.cause)} (in: ${statementHead(err.query)})`
  return redact(err instanceof Error ? `${err.name}: ${err.message}` : String(err))
}

function isFailedQuery(err: unknown): err is Error & { query: string; params: unknown; cause: unknown } {
  return err instanceof Error && typeof (err as { query?: unknown }).query === 'string' && 'params' in err && (err as { cause?: unknown }).cause !== undefined
}

/** `update "uploads"`, `insert into "accounts"`: what failed, without values. */
function statementHead(sql: string): string {
  return sql.trim().split(/\s+/).slice(0, 3).join(' ').replace(/[(].*$/, '').slice(0, 60)
}
