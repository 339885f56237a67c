// An origin for storage-faults-permissions.test.ts to run under an unprivileged uid, where a
// directory's mode bits bind (root ignores them, so chmod gives root no EACCES). Reads the config
// (JSON) from the path in argv[2], prints its URL on one line, stops on SIGTERM.

import { readFileSync } from 'node:fs'
import type { MeridianConfig } from '../../origin/config/types.ts'
import { startOriginServer } from '../../origin/server.ts'
import { createLogger } from '../../origin/log.ts'

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as MeridianConfig
// Log lines go to stderr, where the test reads what the origin said about the fault.
const origin = await startOriginServer(config, { log: createLogger({ level: 'warn' }), graceMs: 200, locationDownSeconds: 1 })
process.stdout.write(`${origin.url}\n`)
process.once('SIGTERM', () => void origin.close().then(() => process.exit(0)))
