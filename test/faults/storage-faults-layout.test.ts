// Storage faults in a local-disk location's layout, where reads fail too: a path component that is
// not a directory (ENOTDIR), a root that vanished (volume unmounted, directory renamed), a foreign
// root (another deployment's volume mounted at the path). The location is down, never "lost":
// no placement is marked missing, nothing is recreated on the parent filesystem, pulls come from
// the other copy, and the location comes back when repaired. Some cases restart the origin while
// the fault is on, so the start-up check meets it. README "Storage faults and location health".

import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { canMount, type FaultEnv, type FaultName } from './storage-fault-kit.ts'
import { runFaultScenario } from './storage-fault-scenario.ts'

const CASES: Array<{ fault: FaultName; restart: boolean }> = [
  { fault: 'not-a-dir', restart: false },
  { fault: 'unmounted', restart: true },
  { fault: 'renamed', restart: false },
  { fault: 'foreign', restart: true },
]

/** The root was not recreated where the vanished volume used to be. */
function expectNotRecreated(id: string) {
  return async (env: FaultEnv) => {
    expect(existsSync(env.volumes.get(id)!.root), 'root recreated on the parent filesystem').toBe(false)
  }
}

describe.skipIf(!canMount)('storage faults in the layout of a local-disk location', () => {
  for (const { fault, restart } of CASES) {
    const how = restart ? ' (origin restarted during the fault)' : ''
    const during = fault === 'unmounted' || fault === 'renamed' ? expectNotRecreated : () => undefined
    it(`${fault}, preferred location${how}: down for reads and writes, not lost; back when repaired`, async () => {
      const logs = await runFaultScenario(fault, 'a', { restart, during: during('a') })
      if (restart) expect(logs.some((l) => l.msg === 'location refused: its root is not usable' && l.fields.location === 'a')).toBe(true)
    }, 120_000)
    it(`${fault}, non-preferred location${how}: pushes and pulls carry on; replication fills it when repaired`, async () => {
      const logs = await runFaultScenario(fault, 'b', { restart, during: during('b') })
      if (restart) expect(logs.some((l) => l.msg === 'location refused: its root is not usable' && l.fields.location === 'b')).toBe(true)
    }, 120_000)
  }
})
