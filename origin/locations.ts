// The origin's storage locations: one engine per configured location, the preference order for
// writes, and a small health memory so a location that just failed is tried last for a while
// (for reads and writes, or only for writes: a read-only or full disk still serves reads).

import type { StorageEngine } from '../storage/engine.ts'
import { StorageError } from '../storage/engine.ts'
import { guardEngine } from '../storage/guard.ts'
import { PROBE_KEY } from '../storage/keys.ts'
import { describeError, silentLogger, type Logger } from './log.ts'
import { createEngine, type EngineContext, type EngineFactory } from './engines.ts'
import type { LocationConfig } from './config/types.ts'

export type { EngineFactory }

export interface Location {
  id: string
  engine: StorageEngine
  config: LocationConfig
}

/** What a failure says a location cannot do for now: be read (and so written), or be written. */
export type Access = 'read' | 'write'

export interface LocationSet {
  get(id: string): Location | null
  all(): Location[]
  /** Writable locations in preference order, ones that take writes now first (the first takes pushes). */
  writeOrder(allowed?: (id: string) => boolean): Location[]
  /** Writable locations in plain preference order, health ignored: [0] is where pushes should go. */
  preferenceOrder(allowed?: (id: string) => boolean): Location[]
  /** The given location ids ordered for reading: preference order, then the rest; healthy first. */
  readOrder(ids: string[]): Location[]
  /**
   * Whether the location takes writes now: a small object written and deleted (a stat passes on a
   * read-only or full filesystem), remembered for a few seconds so a busy origin probes at most
   * once per location per interval. A failure marks the location down for writes.
   */
  probe(id: string): Promise<boolean>
  /**
   * Remembers that `id` failed: after a read failure it is tried last for reads and writes for a
   * while, after a write failure only for writes (a read-only or full disk still serves reads).
   * Failures that are the caller's (invalid input, an aborted request) say nothing and are ignored.
   */
  markDown(id: string, err: unknown, access?: Access): void
  markUp(id: string): void
  /** Not marked down for reads. */
  isHealthy(id: string): boolean
  /** Not marked down for reads nor for writes. */
  isWritable(id: string): boolean
  close(): Promise<void>
}

/** What a write probe stores: one byte under a key of its own (storage/keys.ts PROBE_KEY). */
const probeBody = () => new ReadableStream<Uint8Array>({ start(c) { c.enqueue(new Uint8Array([0x2e])); c.close() } })

export interface LocationSetOptions {
  createEngine?: EngineFactory
  deployment?: string
  engineContext?: Omit<EngineContext, 'deployment'>
  downSeconds?: number
  now?: () => number
  log?: Logger
  /** Called when a location's readability flips: marked down for reads, or up again (the feed's location.health). */
  onHealthChange?: (id: string, readable: boolean) => void
}

export function createLocationSet(configs: LocationConfig[], preference: string[], options: LocationSetOptions = {}): LocationSet {
  const { createEngine: make = createEngine, deployment, engineContext = {}, downSeconds = 15, now = Date.now, log = silentLogger, onHealthChange } = options
  const probeMs = 5000
  const answeredAt = new Map<string, number>()
  const probing = new Map<string, Promise<boolean>>()
  const byId = new Map<string, Location>()
  for (const config of configs) byId.set(config.id, { id: config.id, config, engine: guardEngine(make(config, { ...engineContext, deployment })) })
  const downUntil = new Map<string, number>()
  const writeDownUntil = new Map<string, number>()
  const rank = (id: string) => { const i = preference.indexOf(id); return i < 0 ? preference.length : i }
  const isHealthy = (id: string) => (downUntil.get(id) ?? 0) <= now()
  const isWritable = (id: string) => isHealthy(id) && (writeDownUntil.get(id) ?? 0) <= now()
  const byRank = (a: string, b: string) => rank(a) - rank(b)
  const order = (ids: string[], up: (id: string) => boolean) => [...ids].sort((a, b) => Number(up(b)) - Number(up(a)) || byRank(a, b))
  const writable = (allowed: (id: string) => boolean) => preference.filter((id) => byId.has(id) && !byId.get(id)!.config.readOnly && allowed(id))

  // Locations reported unreadable, each with the timer that reports it readable once its
  // cool-down ends (a marked-down location becomes readable by time passing, not by a call).
  const reportedDown = new Map<string, ReturnType<typeof setTimeout>>()
  function watchHealth(id: string) {
    if (!onHealthChange) return
    if (isHealthy(id)) {
      clearTimeout(reportedDown.get(id))
      if (reportedDown.delete(id)) onHealthChange(id, true)
      return
    }
    const first = !reportedDown.has(id)
    clearTimeout(reportedDown.get(id))
    const timer = setTimeout(() => watchHealth(id), Math.max(1, (downUntil.get(id) ?? 0) - now()))
    timer.unref?.()
    reportedDown.set(id, timer)
    if (first) onHealthChange(id, false)
  }

  function markDown(id: string, err: unknown, access: Access = 'read') {
    if (err instanceof StorageError && (err.kind === 'invalid' || err.kind === 'aborted')) return
    // A read failure of the caller's making is 'invalid'; anything else a location answers
    // (no permission, a missing bucket or root, a timeout) is the location's state.
    ;(access === 'read' ? downUntil : writeDownUntil).set(id, now() + downSeconds * 1000)
    answeredAt.delete(id)
    if (access === 'read') watchHealth(id)
  }

  async function writeProbe(location: Location): Promise<boolean> {
    try {
      await location.engine.put(PROBE_KEY, probeBody(), { size: 1 })
      await location.engine.delete(PROBE_KEY)
      answeredAt.set(location.id, now())
      return true
    } catch (err) {
      log.warn('location does not take writes: marked down for writes', { location: location.id, error: describeError(err), retryInSeconds: downSeconds })
      writeDownUntil.set(location.id, now() + downSeconds * 1000)
      answeredAt.delete(location.id)
      return false
    }
  }

  return {
    get: (id) => byId.get(id) ?? null,
    all: () => [...byId.values()],
    writeOrder: (allowed = () => true) => order(writable(allowed), isWritable).map((id) => byId.get(id)!),
    preferenceOrder: (allowed = () => true) => writable(allowed).map((id) => byId.get(id)!),
    readOrder: (ids) => order(ids.filter((id) => byId.has(id)), isHealthy).map((id) => byId.get(id)!),
    markDown,
    probe(id) {
      const location = byId.get(id)
      if (!location || !isWritable(id)) return Promise.resolve(false)
      if (now() - (answeredAt.get(id) ?? -Infinity) < probeMs) return Promise.resolve(true)
      // Concurrent pushes share one probe.
      let running = probing.get(id)
      if (!running) {
        running = writeProbe(location).finally(() => probing.delete(id))
        probing.set(id, running)
      }
      return running
    },
    markUp(id) {
      downUntil.delete(id)
      writeDownUntil.delete(id)
      answeredAt.set(id, now())
      watchHealth(id)
    },
    isHealthy,
    isWritable,
    async close() {
      for (const timer of reportedDown.values()) clearTimeout(timer)
      await Promise.all([...byId.values()].map((l) => l.engine.close?.()))
    },
  }
}
