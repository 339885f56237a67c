// Only for test/faults/fault-volumes.test.ts, which runs it in a vitest of its own (the name keeps it
// out of the suite): a test that times out with its fault env open, its own code still waiting and
// never reaching a finally, then a test in the same worker that finds the env's volumes unmounted.

import { expect, it } from 'vitest'
import { mountsUnder } from './fault-volumes.ts'
import { startFaultEnv } from './storage-fault-kit.ts'

let base = ''

it('times out with its env open', async () => {
  const env = await startFaultEnv()
  base = env.base
  await new Promise(() => {})
}, 10_000)

it('finds the volumes of the test that timed out unmounted', () => {
  expect(base).not.toBe('')
  expect(mountsUnder(base)).toEqual([])
})
