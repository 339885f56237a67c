// Edges for tests: an origin whose local-disk locations name its own URL as their public URL (so
// edges can redirect to them), and Node edges in this process following it, each with its own
// region index in a temp directory.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { edgeConfigFor, type EdgeDescription } from '../../origin/edge-config.ts'
import { loadOrCreateUrlSigningKey } from '../../origin/url-signing-key.ts'
import { createDbReadModel } from '../../db/read-model.ts'
import { parseEdgeConfig } from '../../edge/config.ts'
import { startNodeEdge, type NodeEdge, type NodeEdgeOptions } from '../../edge/entry/node.ts'
import { silentLogger } from '../../storage/log.ts'
import { freePort } from '../../scripts/bench/origin-process.ts'
import { startTestOrigin, type TestOrigin, type TestOriginOptions } from './origin.ts'

/** A TCP port free at the moment of asking (for an origin that must know its URL up front). */
export { freePort }

/** An origin whose fs locations redirect: `publicUrl` is the origin itself. */
export async function startRedirectingOrigin(options: TestOriginOptions = {}): Promise<TestOrigin> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  return startTestOrigin({
    ...options,
    env: { MERIDIAN_ORIGIN_PORT: String(port), ...options.env },
    edit: (c) => {
      const edited = { ...c, locations: c.locations.map((l) => (l.driver === 'fs' ? { ...l, serve: 'redirect' as const, params: { ...l.params, publicUrl: url } } : l)) }
      return options.edit ? options.edit(edited) : edited
    },
  })
}

export interface TestEdge extends NodeEdge {
  /** Resolves once the edge's index has applied every change the origin has made so far. */
  settle(timeoutMs?: number): Promise<void>
}

export interface TestEdgeOptions extends Partial<EdgeDescription> {
  geoDatabase?: Uint8Array | null
  /** Changes the edge config document edgeConfigFor wrote (locations elsewhere, say) before it is parsed. */
  editConfig?: (doc: Record<string, unknown>) => Record<string, unknown>
  jwksRefresh?: NodeEdgeOptions['jwksRefresh']
  log?: NodeEdgeOptions['log']
}

export async function startTestEdge(origin: TestOrigin, edge: TestEdgeOptions = {}): Promise<TestEdge> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-edge-'))
  const { geoDatabase, editConfig, jwksRefresh, log, ...description } = edge
  const doc = edgeConfigFor(origin.config, {
    region: 'test', home: { lat: 50.1, lon: 8.7 }, feedWaitSeconds: 5, ...description, originUrl: description.originUrl ?? origin.url,
  })
  const config = parseEdgeConfig(editConfig ? editConfig(doc) : doc)
  const node = await startNodeEdge({
    config, host: '127.0.0.1', port: 0, indexPath: join(dir, 'index.sqlite'),
    urlSigningKey: await loadOrCreateUrlSigningKey(origin.dataDir),
  }, { log: log ?? silentLogger, geoDatabase: geoDatabase ?? null, ...(jwksRefresh ? { jwksRefresh } : {}) })
  const originModel = createDbReadModel(origin.db)
  return {
    ...node,
    async settle(timeoutMs = 10_000) {
      const want = await originModel.position()
      const deadline = Date.now() + timeoutMs
      while ((await node.index.position()) < want) {
        if (Date.now() > deadline) throw new Error(`edge index at ${await node.index.position()}, origin at ${want} after ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    async close() {
      await node.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
