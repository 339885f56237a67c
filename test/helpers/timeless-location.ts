// A location whose engine reports no modification times (some S3-compatible stores list none):
// the sweeps must skip what they cannot date unless forced.

import type { Location } from '../../origin/locations.ts'
import type { StorageEngine } from '../../storage/engine.ts'

export function timelessLocation(real: Location): Location {
  return {
    ...real,
    engine: Object.assign(Object.create(real.engine) as StorageEngine, {
      list: async (prefix: string, options?: { cursor?: string; limit?: number }) => {
        const page = await real.engine.list(prefix, options)
        return { ...page, keys: page.keys.map(({ modified: _, ...info }) => info) }
      },
      stat: async (key: string) => {
        const info = await real.engine.stat(key)
        return info && { key: info.key, size: info.size }
      },
    }),
  }
}
