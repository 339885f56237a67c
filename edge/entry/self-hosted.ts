// What the Bun and Deno entries share: settings from the environment (env-config.ts), the index
// file's folder made, the IP database read, and the edge opened with a feed follower. Each entry
// brings its own SQLite store and how to find the TCP peer; serving HTTP stays in the entry.

import type { Context } from 'hono'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import process from 'node:process'
import { openEdge, type RunningEdge } from '../start.ts'
import { createLogger } from '../../storage/log.ts'
import type { SqlStore } from '../index/sql-store.ts'
import { loadGeoDatabase } from './geo-node.ts'
import { edgeSettingsFromEnv, type Env, type SelfHostedSettings } from './env-config.ts'

export interface SelfHostedRuntime {
  /** Opens the region index's SQLite file (created if missing). */
  openStore(path: string): Promise<SqlStore>
  peer(c: Context): string | null
}

export async function openSelfHostedEdge(env: Env, runtime: SelfHostedRuntime): Promise<{ edge: RunningEdge; settings: SelfHostedSettings }> {
  const settings = edgeSettingsFromEnv(env)
  if (settings.indexPath !== ':memory:') mkdirSync(dirname(settings.indexPath), { recursive: true })
  const edge = await openEdge(settings.config, {
    store: await runtime.openStore(settings.indexPath),
    geoDatabase: await loadGeoDatabase(env),
    urlSigningKey: settings.urlSigningKey,
    peer: runtime.peer,
    log: createLogger({ base: { edge: settings.config.region } }),
    follow: true,
  })
  return { edge, settings }
}

/** `http://host:port`, brackets around an IPv6 host. */
export function listenUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** The one line every entry prints once it listens (tests and operators wait for it). */
export function listeningLine(settings: SelfHostedSettings, runtime: string, url: string): string {
  return `meridian edge (${settings.config.region}, ${runtime}) listening on ${url}, origin ${settings.config.origin.url}`
}

/** Ends the process on the first fatal error, saying why (no stack: config errors are the usual). */
export function exitOnError(err: unknown): never {
  console.error(`meridian edge: ${(err as Error).message}`)
  process.exit(1)
}
