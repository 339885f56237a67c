// The edge's metrics in Prometheus text format, written by hand: prom-client is Node-only and the
// edge runs on Workers, Bun and Deno too. Counters live in this isolate/process.

export interface IndexStatus {
  /** Last change applied. */
  position: number
  /** Newest change the origin had when last asked. */
  head: number
  /** Seconds the index is behind the origin (0 when caught up). */
  lagSeconds: number
  /** When the index last heard from the origin (ms since the epoch), or null. */
  lastSyncAt: number | null
  /** False until a snapshot or the feed has been loaded. */
  ready: boolean
  /** When the snapshot the index was built from was taken (ms since the epoch), or null. */
  snapshotAt?: number | null
}

export interface EdgeMetrics {
  served(via: string, how: 'redirect' | 'proxy' | 'origin'): void
  missed(): void
  render(index: IndexStatus | null, locations: Array<{ id: string; up: boolean }>): string
}

export function createEdgeMetrics(): EdgeMetrics {
  const served = new Map<string, number>()
  let misses = 0
  return {
    served(via, how) {
      const key = `location="${via}",how="${how}"`
      served.set(key, (served.get(key) ?? 0) + 1)
    },
    missed() {
      misses++
    },
    render(index, locations) {
      const lines: string[] = []
      const metric = (name: string, type: string, help: string, samples: Array<[string, number]>) => {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
        for (const [labels, value] of samples) lines.push(`${name}${labels ? `{${labels}}` : ''} ${value}`)
      }
      if (index) {
        metric('meridian_edge_index_lag_seconds', 'gauge', 'Seconds the region index is behind the origin change feed.', [['', index.lagSeconds]])
        metric('meridian_edge_index_position', 'gauge', 'Sequence number of the last change applied to the region index.', [['', index.position]])
        metric('meridian_edge_index_ready', 'gauge', '1 once the region index has been loaded.', [['', index.ready ? 1 : 0]])
      }
      metric('meridian_edge_location_up', 'gauge', '0 while this edge skips the location after a failure.', locations.map((l) => [`location="${l.id}"`, l.up ? 1 : 0]))
      metric('meridian_edge_blob_served_total', 'counter', 'Blob GETs served, by location and how (redirect, proxy, origin).', [...served])
      metric('meridian_edge_index_miss_total', 'counter', 'Reads the region index could not answer, handed to the origin.', [['', misses]])
      return lines.join('\n') + '\n'
    },
  }
}
