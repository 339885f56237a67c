// Waiting for replication and checking its outcome against the bytes themselves.

import { createHash } from 'node:crypto'
import type { Db } from '../../db/client.ts'
import { backlogByLocation } from '../../db/queries/replication.ts'
import { placements } from '../../db/schema.ts'
import type { LocationSet } from '../../origin/locations.ts'
import { blobKey } from '../../storage/keys.ts'
import type { MeridianConfig, LocationConfig } from '../../origin/config/types.ts'

/** Resolves when no job is pending or running (dead letters do not count). */
export async function waitForReplication(db: Db, { timeoutMs = 30_000, pollMs = 50 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const backlog = await backlogByLocation(db)
    const left = backlog.reduce((n, b) => n + b.pending + b.running, 0)
    if (left === 0) return
    if (Date.now() > deadline) throw new Error(`replication still has ${left} jobs after ${timeoutMs} ms: ${JSON.stringify(backlog)}`)
    await new Promise((r) => setTimeout(r, pollMs))
  }
}

export async function sha256Of(stream: ReadableStream<Uint8Array>): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) h.update(chunk)
  return `sha256:${h.digest('hex')}`
}

/** Every 'present' placement, checked against the bytes in its location. Returns the problems. */
export async function placementProblems(db: Db, locations: LocationSet): Promise<string[]> {
  const problems: string[] = []
  for (const p of await db.select().from(placements).all()) {
    if (p.state !== 'present') continue
    const got = await locations.get(p.location)!.engine.get(blobKey(p.digest))
    if (!got) { problems.push(`${p.digest} in ${p.location}: placement without bytes`); continue }
    const actual = await sha256Of(got.body)
    if (got.size !== p.size || (p.digest.startsWith('sha256:') && actual !== p.digest)) problems.push(`${p.digest} in ${p.location}: bytes do not match`)
  }
  return problems
}

/** Locations where each blob is present. */
export async function presentMap(db: Db): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>()
  for (const p of await db.select().from(placements).all()) {
    if (p.state !== 'present') continue
    if (!out.has(p.digest)) out.set(p.digest, new Set())
    out.get(p.digest)!.add(p.location)
  }
  return out
}

/** An fs location for tests, under the config's data dir. */
export function fsLocation(config: MeridianConfig, id: string, extra: Partial<LocationConfig> = {}): LocationConfig {
  return { id, driver: 'fs', params: { root: `${config.dataDir}/locations/${id}` }, lat: 0, lon: 0, replicateByDefault: true, serve: 'proxy', readOnly: false, ...extra }
}

/** Fast retry settings so failure tests finish in seconds. */
export function fastRetries(config: MeridianConfig, overrides: Partial<MeridianConfig['replication']> = {}): MeridianConfig {
  return { ...config, replication: { ...config.replication, backoffBaseMs: 20, backoffMaxMs: 200, maxAttempts: 4, leaseSeconds: 2, reconcileIntervalSeconds: 1, ...overrides } }
}
