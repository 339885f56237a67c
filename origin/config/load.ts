// loadConfig: environment + optional YAML file (Meridian's own shape, or a Quay config.yaml) →
// one checked MeridianConfig. Every problem is collected before anything is thrown, so a broken
// deployment is fixed in one pass. Precedence: environment > file > built-in defaults.

import { readFileSync } from 'node:fs'
import type { LoadedConfig, MeridianConfig } from './types.ts'
import { ConfigError } from './config-error.ts'
import { checkAuthReachable } from './auth.ts'
import { DEFAULT_AUTH, DEFAULT_ORIGIN, DEFAULT_REPLICATION, defaultDatabaseUrl, defaultLocations, defaultPreference } from './defaults.ts'
import { ENV, readEnv } from './env.ts'
import { readConfigFile, type ParsedFile } from './file.ts'
import { checkDatabaseUrl } from './origin-settings.ts'
import { at, createReport, problem } from './report.ts'
import { validateConfig } from './validate.ts'

export interface LoadOptions {
  /** Reads the file MERIDIAN_CONFIG names; tests pass an in-memory one. */
  readFile?: (path: string) => string
}

export function loadConfig(env: Record<string, string | undefined>, options: LoadOptions = {}): LoadedConfig {
  const { readFile = (path: string) => readFileSync(path, 'utf8') } = options
  const report = createReport()
  const settings = readEnv(report, env)
  const { dataDir } = settings

  let file: ParsedFile | undefined
  if (settings.configPath !== undefined) {
    let text: string | undefined
    try {
      text = readFile(settings.configPath)
    } catch (error) {
      problem(report, ENV.config, `cannot read ${settings.configPath}: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (text !== undefined) file = readConfigFile(report, text, settings.configPath, env, dataDir)
    // Nothing sensible to cross-check without the file: stop at what is already known.
    if (file === undefined) throw new ConfigError(report.problems)
  }

  const locations = file?.locations ?? defaultLocations(dataDir)
  const preference = settings.preference?.ids ?? file?.preference ?? (file ? locations.map((l) => l.id) : defaultPreference())
  const databaseUrl =
    settings.databaseUrl !== undefined
      ? checkDatabaseUrl(report, settings.databaseUrl, ENV.databaseUrl, dataDir)
      : checkDatabaseUrl(report, file?.databaseUrl, 'databaseUrl', dataDir)

  const fileOrigin = file?.origin ?? {}
  const config: MeridianConfig = {
    dataDir,
    origin: {
      host: settings.host ?? fileOrigin.host ?? DEFAULT_ORIGIN.host,
      port: settings.port ?? fileOrigin.port ?? DEFAULT_ORIGIN.port,
      deleteEnabled: settings.deleteEnabled ?? fileOrigin.deleteEnabled ?? DEFAULT_ORIGIN.deleteEnabled,
      publicUrl: settings.publicUrl ?? fileOrigin.publicUrl ?? DEFAULT_ORIGIN.publicUrl,
      edgeToken: settings.edgeToken ?? fileOrigin.edgeToken ?? DEFAULT_ORIGIN.edgeToken,
      trustedProxies: settings.trustedProxies ?? fileOrigin.trustedProxies ?? DEFAULT_ORIGIN.trustedProxies,
      headersTimeoutMs: settings.limits.headersTimeoutMs ?? fileOrigin.headersTimeoutMs ?? DEFAULT_ORIGIN.headersTimeoutMs,
      idleTimeoutMs: settings.limits.idleTimeoutMs ?? fileOrigin.idleTimeoutMs ?? DEFAULT_ORIGIN.idleTimeoutMs,
      maxConnections: settings.limits.maxConnections ?? fileOrigin.maxConnections ?? DEFAULT_ORIGIN.maxConnections,
      manifestConcurrency: settings.limits.manifestConcurrency ?? fileOrigin.manifestConcurrency ?? DEFAULT_ORIGIN.manifestConcurrency,
      manifestBodyBytes: settings.limits.manifestBodyBytes ?? fileOrigin.manifestBodyBytes ?? DEFAULT_ORIGIN.manifestBodyBytes,
      urlSigningKey: settings.urlSigningKey ?? fileOrigin.urlSigningKey ?? DEFAULT_ORIGIN.urlSigningKey,
      presignSeconds: settings.presignSeconds ?? fileOrigin.presignSeconds ?? DEFAULT_ORIGIN.presignSeconds,
      changeRetentionHours: settings.changeRetentionHours ?? fileOrigin.changeRetentionHours ?? DEFAULT_ORIGIN.changeRetentionHours,
    },
    databaseUrl: databaseUrl ?? defaultDatabaseUrl(dataDir),
    locations,
    preference,
    namespaces: file?.namespaces ?? [],
    replication: file?.replication ?? { ...DEFAULT_REPLICATION },
    auth: { ...DEFAULT_AUTH, ...file?.auth, ...(settings.auth === undefined ? {} : { enabled: settings.auth }) },
  }

  validateConfig(report, config, {
    preferencePath: settings.preference?.source ?? file?.preferencePath ?? 'preference',
    locationPath: (id) => file?.locationPaths.get(id) ?? at('locations', id),
  })
  checkAuthReachable(report, config)
  if (report.problems.length > 0) throw new ConfigError(report.problems)
  return { config, warnings: report.warnings }
}
