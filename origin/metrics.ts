// Prometheus metrics (prom-client), one registry per origin process. Documented in README.md.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Db } from '../db/client.ts'
import { backlogByLocation, type Backlog } from '../db/queries/replication.ts'
import type { LocationSet } from './locations.ts'

export interface Metrics {
  registry: Registry
  jobs: Counter<'location' | 'outcome'>
  bytesCopied: Counter<'source' | 'target'>
  lag: Histogram<'location'>
  pushFallbacks: Counter<'preferred' | 'used'>
}

export function createMetrics(options: { db: Db; locations: LocationSet; defaults?: boolean }): Metrics {
  const registry = new Registry()
  if (options.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'meridian_' })
  const { db, locations } = options
  // Both backlog gauges come from one query per scrape: the depth gauge (its collect is started
  // first, prom-client then awaits all of them together) starts it, the bytes gauge awaits the same.
  let backlog: Promise<Backlog[]> = Promise.resolve([])
  new Gauge({
    name: 'meridian_replication_queue_depth', help: 'Replication jobs not done, per target location and state',
    labelNames: ['location', 'state'], registers: [registry],
    async collect() {
      backlog = backlogByLocation(db)
      const rows = await backlog
      this.reset()
      for (const b of rows) {
        this.set({ location: b.location, state: 'pending' }, b.pending)
        this.set({ location: b.location, state: 'running' }, b.running)
        this.set({ location: b.location, state: 'dead' }, b.dead)
      }
    },
  })
  new Gauge({
    name: 'meridian_replication_backlog_bytes', help: 'Bytes still to copy, per target location',
    labelNames: ['location'], registers: [registry],
    async collect() {
      const rows = await backlog
      this.reset()
      for (const b of rows) this.set({ location: b.location }, b.pendingBytes)
    },
  })
  new Gauge({
    name: 'meridian_location_up', help: '1 when the location serves what it is for (reads, and writes unless read-only), 0 while it is marked down for either',
    labelNames: ['location'], registers: [registry],
    collect() {
      for (const l of locations.all()) this.set({ location: l.id }, locations.isHealthy(l.id) && (l.config.readOnly || locations.isWritable(l.id)) ? 1 : 0)
    },
  })
  new Gauge({
    name: 'meridian_location_readable', help: '1 while reads from the location work (a read-only or full disk still serves them), 0 while it is marked down for reads',
    labelNames: ['location'], registers: [registry],
    collect() {
      for (const l of locations.all()) this.set({ location: l.id }, locations.isHealthy(l.id) ? 1 : 0)
    },
  })
  return {
    registry,
    jobs: new Counter({ name: 'meridian_replication_jobs_total', help: 'Replication attempts by outcome (done, retry, dead)', labelNames: ['location', 'outcome'], registers: [registry] }),
    bytesCopied: new Counter({ name: 'meridian_replication_bytes_total', help: 'Bytes copied by replication, per source and target location', labelNames: ['source', 'target'], registers: [registry] }),
    lag: new Histogram({
      name: 'meridian_replication_lag_seconds', help: 'From blob commit to present in the target location',
      labelNames: ['location'], registers: [registry], buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600],
    }),
    pushFallbacks: new Counter({ name: 'meridian_push_fallback_total', help: 'Pushes written to a location other than the preferred one because it was down', labelNames: ['preferred', 'used'], registers: [registry] }),
  }
}
