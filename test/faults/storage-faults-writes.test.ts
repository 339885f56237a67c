// Storage faults that stop writes but leave reads working: a read-only filesystem (EROFS), lost
// write permission (EPERM), a full disk (ENOSPC), on the preferred and on a non-preferred location
// (storage-fault-kit.ts says how each is produced for real). README "Storage faults and location
// health".

import { describe, it } from 'vitest'
import { canMount, WRITE_ONLY_FAULTS } from './storage-fault-kit.ts'
import { runFaultScenario } from './storage-fault-scenario.ts'

describe.skipIf(!canMount)('storage faults that stop writes', () => {
  for (const fault of WRITE_ONLY_FAULTS) {
    it(`${fault}, preferred location: pushes fall back (each counted), pulls and placements survive, it comes back`, async () => {
      await runFaultScenario(fault, 'a')
    }, 120_000)
    it(`${fault}, non-preferred location: pushes stay on the preferred one, replication catches up after`, async () => {
      await runFaultScenario(fault, 'b')
    }, 120_000)
  }
})
