// A self-hosted edge's settings (Node, Bun, Deno: all three read files through node:fs):
// MERIDIAN_EDGE_CONFIG names the JSON document (edge/config.ts, docs/edge.md), and the secrets
// come from the environment so the file can be shared: MERIDIAN_EDGE_TOKEN (the origin's feed
// credential), MERIDIAN_URL_SIGNING_KEY (local-disk locations), MERIDIAN_EDGE_ADMIN_TOKEN; and
// MERIDIAN_EDGE_JWKS_URL (where the origin's public keys are, when not at origin.url).

import { readFileSync } from 'node:fs'
import { EdgeConfigError, parseEdgeConfigWithEnv, type EdgeConfig } from '../config.ts'

export type Env = Record<string, string | undefined>

export interface SelfHostedSettings {
  config: EdgeConfig
  host: string
  port: number
  /** The region index's SQLite file. */
  indexPath: string
  urlSigningKey: string | null
}

export function edgeSettingsFromEnv(env: Env): SelfHostedSettings {
  const path = env.MERIDIAN_EDGE_CONFIG
  if (!path) throw new EdgeConfigError('MERIDIAN_EDGE_CONFIG must name the edge config file (a JSON document: docs/edge.md)')
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  } catch (err) {
    throw new EdgeConfigError(`MERIDIAN_EDGE_CONFIG ${path}: ${(err as Error).message}`)
  }
  const config = parseEdgeConfigWithEnv(raw, env)
  const port = Number(env.MERIDIAN_EDGE_PORT ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EdgeConfigError(`MERIDIAN_EDGE_PORT: ${env.MERIDIAN_EDGE_PORT} is not a port`)
  return {
    config, port,
    host: env.MERIDIAN_EDGE_HOST ?? '127.0.0.1',
    indexPath: env.MERIDIAN_EDGE_INDEX ?? `./data/edge-${config.region}.sqlite`,
    urlSigningKey: env.MERIDIAN_URL_SIGNING_KEY ?? null,
  }
}
