// Before a client is redirected to a location, the edge must believe the location answers: a
// redirect is the edge's last word (the client, not the edge, meets the failure). So a location is
// probed before it is redirected to, at most once per interval (concurrent pulls share a probe):
// a stat of a key no blob has. "Not found" is a healthy answer; an error or a timeout marks the
// location down for the cool-down. Proxied locations need no probe: their failure is seen, and the
// next location tried, within the pull itself.

import { blobKey } from '../storage/keys.ts'
import type { StorageEngine } from '../storage/engine.ts'
import type { LocationHealth } from './health.ts'
import { withTimeout } from './timing.ts'

/** A digest no content has (finding a preimage of all zeros is what SHA-256 rules out). */
export const PROBE_KEY = blobKey(`sha256:${'0'.repeat(64)}`)

export type ReadProbe = (location: { id: string; engine: StorageEngine }) => Promise<void>

export function createReadProbe(options: { health: LocationHealth; intervalMs?: number; timeoutMs?: number; now?: () => number; onDown?: (id: string, err: unknown) => void }): ReadProbe {
  const { health, intervalMs = 10_000, timeoutMs = 2_000, now = Date.now } = options
  const checkedAt = new Map<string, number>()
  const running = new Map<string, Promise<void>>()

  async function probe(id: string, engine: StorageEngine): Promise<void> {
    try {
      await withTimeout(timeoutMs, () => engine.stat(PROBE_KEY))
      health.markUp(id)
    } catch (err) {
      health.markDown(id)
      options.onDown?.(id, err)
    } finally {
      checkedAt.set(id, now())
      running.delete(id)
    }
  }

  return async ({ id, engine }) => {
    if (now() - (checkedAt.get(id) ?? -Infinity) < intervalMs) return
    let pending = running.get(id)
    if (!pending) {
      pending = probe(id, engine)
      running.set(id, pending)
    }
    await pending
  }
}
