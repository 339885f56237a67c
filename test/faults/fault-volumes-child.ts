// A process that mounts fault volumes and waits to be killed (test/faults/fault-volumes.test.ts):
// it prints its base, then lives until a signal ends it.

import { mountVolumes } from './fault-volumes.ts'

const { base } = await mountVolumes(['a', 'b'], '1m', process.argv[2])
process.stdout.write(`${base}\n`)
setInterval(() => {}, 60_000)
