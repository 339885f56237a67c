// The origin's storage locations: one engine per configured location, the preference order for
// writes, and a small health memory so a location that just failed is tried last for a while.

import type { StorageEngine } from '../storage/engine.ts'
import { StorageError } from '../storage/engine.ts'
import { guardEngine } from '../storage/guard.ts'
import { createEngine, type EngineFactory } from './engines.ts'
import type { LocationConfig } from './config/types.ts'

export type { EngineFactory }

export interface Location {
  id: string
  engine: StorageEngine
  config: LocationConfig
}

export interface LocationSet {
  get(id: string): Location | null
  all(): Location[]
  /** Writable locations in preference order, healthy ones first (the first one takes pushes). */
  writeOrder(allowed?: (id: string) => boolean): Location[]
  /** The given location ids ordered for reading: preference order, then the rest; healthy first. */
  readOrder(ids: string[]): Location[]
  /**
   * Whether the location answers now: a cheap stat, remembered for a few seconds so a busy origin
   * asks at most once per location per interval. A failure marks the location down.
   */
  probe(id: string): Promise<boolean>
  markDown(id: string, err: unknown): void
  markUp(id: string): void
  isHealthy(id: string): boolean
  close(): Promise<void>
}

export function createLocationSet(configs: LocationConfig[], preference: string[], options: { createEngine?: EngineFactory; downSeconds?: number; now?: () => number } = {}): LocationSet {
  const { createEngine: make = createEngine, downSeconds = 15, now = Date.now } = options
  const probeMs = 5000
  const answeredAt = new Map<string, number>()
  const byId = new Map<string, Location>()
  for (const config of configs) byId.set(config.id, { id: config.id, config, engine: guardEngine(make(config)) })
  const downUntil = new Map<string, number>()
  const rank = (id: string) => { const i = preference.indexOf(id); return i < 0 ? preference.length : i }
  const isHealthy = (id: string) => (downUntil.get(id) ?? 0) <= now()
  const order = (ids: string[]) => [...ids].sort((a, b) => Number(isHealthy(b)) - Number(isHealthy(a)) || rank(a) - rank(b))

  return {
    get: (id) => byId.get(id) ?? null,
    all: () => [...byId.values()],
    writeOrder(allowed = () => true) {
      const ids = preference.filter((id) => byId.has(id) && !byId.get(id)!.config.readOnly && allowed(id))
      return order(ids).map((id) => byId.get(id)!)
    },
    readOrder: (ids) => order(ids.filter((id) => byId.has(id))).map((id) => byId.get(id)!),
    markDown(id, err) {
      if (err instanceof StorageError && !err.retryable) return
      downUntil.set(id, now() + downSeconds * 1000)
      answeredAt.delete(id)
    },
    async probe(id) {
      const location = byId.get(id)
      if (!location) return false
      if (!isHealthy(id)) return false
      if (now() - (answeredAt.get(id) ?? 0) < probeMs) return true
      try {
        // Any answer, even "no such key", means the engine is reachable and authorised.
        await location.engine.stat('uploads/.probe')
        answeredAt.set(id, now())
        return true
      } catch (err) {
        downUntil.set(id, now() + downSeconds * 1000)
        return false
      }
    },
    markUp(id) {
      downUntil.delete(id)
      answeredAt.set(id, now())
    },
    isHealthy,
    async close() {
      await Promise.all([...byId.values()].map((l) => l.engine.close?.()))
    },
  }
}
