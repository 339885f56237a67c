// One storage fault, start to finish, on a real origin with two local-disk locations a (preferred)
// and b, both default targets: images pushed before the fault, the fault, pushes and pulls during
// it, the repair, pushes after, and the books checked: 0 failed pushes (b or a still takes
// writes), 0 failed pulls (another copy exists), 0 placements lost, the location back by itself.

import { expect } from 'vitest'
import {
  expectNoPlacementLost, expectPull, injectFault, metric, missingPlacements, pushMixedImage, startFaultEnv, waitForReplication, waitUntilWritable, whereIs,
  type FaultEnv, type FaultName, type PushedImage,
} from './storage-fault-kit.ts'

const FALLBACKS = 'meridian_push_fallback_total{preferred="a",used="b"}'
/** Writes per pushed image: three blobs (monolithic, chunked, streamed) and the manifest. */
const WRITES_PER_IMAGE = 4

export interface ScenarioOptions {
  /** Restart the origin while the fault is on: the start-up check meets it. */
  restart?: boolean
  /** Runs while the fault is on, after the pushes and pulls (extra checks of a case). */
  during?: (env: FaultEnv) => Promise<void>
}

/** What the origin's log says when it meets each fault: the real error, not a guess. */
const SEEN: Record<FaultName, RegExp> = {
  'read-only': /EROFS/,
  'no-permission': /EPERM/,
  full: /ENOSPC/,
  'not-a-dir': /ENOTDIR|not a directory/,
  unmounted: /root .* is missing/,
  renamed: /root .* is missing/,
  foreign: /belongs to another location or deployment/,
}

export async function runFaultScenario(fault: FaultName, faulty: 'a' | 'b', options: ScenarioOptions = {}): Promise<FaultEnv['logs']> {
  const healthy = faulty === 'a' ? 'b' : 'a'
  const env = await startFaultEnv()
  const url = () => env.origin.url
  let repair: (() => void | Promise<void>) | null = null
  try {
    const before = [await pushMixedImage(url(), 'faults/before', 'v1')]
    await waitForReplication(env.origin.db, { timeoutMs: 15_000 })
    for (const [digest, where] of await whereIs(env, before)) expect(where, digest).toEqual(['a', 'b'])

    repair = injectFault(env, faulty, fault)
    if (options.restart) await env.restart()
    const fallbacksBefore = options.restart ? 0 : await metric(url(), FALLBACKS)
    const during: PushedImage[] = []
    for (let i = 0; i < 2; i++) during.push(await pushMixedImage(url(), 'faults/during', `v${i}`))
    for (const image of [...before, ...during]) await expectPull(url(), image)
    // Every blob and manifest pushed during the fault is in the location that takes writes.
    for (const [digest, where] of await whereIs(env, during)) expect(where, digest).toEqual([healthy])
    if (faulty === 'a') {
      // Counted once per write that fell back, not once per 15 s window.
      expect(await metric(url(), FALLBACKS) - fallbacksBefore).toBe(during.length * WRITES_PER_IMAGE)
      expect(await metric(url(), 'meridian_location_up{location="a"}')).toBe(0)
    } else {
      expect(await metric(url(), FALLBACKS) - fallbacksBefore).toBe(0)
      // b learns of the fault from replication's failed copies into it.
      await expect.poll(() => metric(url(), 'meridian_location_up{location="b"}'), { timeout: 10_000 }).toBe(0)
    }
    expect(await metric(url(), `meridian_location_up{location="${healthy}"}`)).toBe(1)
    await options.during?.(env)
    const said = env.logs.filter((l) => l.level !== 'info').map((l) => JSON.stringify(l.fields)).join('\n')
    expect(said, 'the origin logs the real failure').toMatch(SEEN[fault])
    expect(await missingPlacements(env), 'placements marked missing during the fault').toEqual([])

    await repair()
    repair = null
    await waitUntilWritable(env, faulty)
    const after = await pushMixedImage(url(), 'faults/after', 'v1')
    // The preferred location takes pushes again.
    for (const [digest, where] of await whereIs(env, [after])) expect(where, digest).toContain('a')
    await waitForReplication(env.origin.db, { timeoutMs: 20_000 })
    const all = [...before, ...during, after]
    for (const [digest, where] of await whereIs(env, all)) expect(where, digest).toEqual(['a', 'b'])
    await expectNoPlacementLost(env)
    for (const image of all) await expectPull(url(), image)
    await expect.poll(() => metric(url(), `meridian_location_up{location="${faulty}"}`), { timeout: 5_000 }).toBe(1)
    return env.logs
  } finally {
    try { await repair?.() } catch { /* the env's close unmounts anyway */ }
    await env.close()
  }
}
