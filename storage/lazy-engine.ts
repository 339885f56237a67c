// An engine whose driver module is loaded on first use. The cloud SDKs cost tens of MiB each
// when imported; an origin whose locations are all on local disk should not pay for them.

import type { StorageEngine } from './engine.ts'

/**
 * Wraps `load` (usually a dynamic import plus the driver's factory) as an engine. Optional
 * capabilities answer null when the loaded driver lacks them, which the contract reads as "not
 * offered here" (serve the bytes yourself, stream instead of copying).
 */
export function lazyEngine(location: string, driver: string, load: () => Promise<StorageEngine>): StorageEngine {
  let loading: Promise<StorageEngine> | null = null
  const engine = () => (loading ??= load())
  return {
    location,
    driver,
    stat: async (key) => (await engine()).stat(key),
    get: async (key, options) => (await engine()).get(key, options),
    put: async (key, body, options) => (await engine()).put(key, body, options),
    delete: async (key) => (await engine()).delete(key),
    list: async (prefix, options) => (await engine()).list(prefix, options),
    presign: async (key, options) => (await engine()).presign?.(key, options) ?? null,
    copy: async (from, to) => (await engine()).copy?.(from, to) ?? null,
    copySource: async (key) => (await engine()).copySource?.(key) ?? null,
    copyFrom: async (source, key, size, check) => (await engine()).copyFrom?.(source, key, size, check) ?? null,
    sweepTemporary: async (olderThan, options) => (await engine()).sweepTemporary?.(olderThan, options) ?? { items: 0, bytes: 0 },
    async close() {
      if (loading) await (await loading).close?.()
    },
  }
}
