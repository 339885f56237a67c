// The origin logs JSON lines to stderr (storage/log.ts is the portable logger the edge shares).

import { createLogger as createPortableLogger, type LogFields, type LogLevel, type Logger } from '../storage/log.ts'

export { describeError, silentLogger } from '../storage/log.ts'
export type { LogFields, LogLevel, Logger }

export function createLogger(options: { level?: LogLevel; write?: (line: string) => void; base?: LogFields } = {}): Logger {
  return createPortableLogger({ write: (line) => process.stderr.write(line + '\n'), ...options })
}
