// Runs the real skopeo binary against a registry on loopback. Every call is bounded by a timeout
// and a failure carries skopeo's stderr, which names the HTTP status and error code it got.

import { writeFileSync } from 'node:fs'
import { CommandError, commandFails, runCommand, type CommandResult } from './client-command.ts'

export const SKOPEO = process.env.SKOPEO ?? '/usr/bin/skopeo'

export { CommandError as SkopeoError, redactCreds, type CommandResult as SkopeoResult } from './client-command.ts'

export interface SkopeoOptions {
  timeoutMs?: number
  debug?: boolean
  /**
   * REGISTRY_AUTH_FILE for this call: where `login` writes and every other command reads
   * credentials. Tests that log in always pass a temp file (see `tempAuthFile`), so a login never
   * lands in root's /run/containers/0/auth.json or ~/.docker/config.json.
   */
  authFile?: string
  /** Written to skopeo's stdin (`login --password-stdin`), which is then closed. */
  stdin?: string
}

/**
 * `skopeo <global flags> <args>`. The trust policy is skipped (`--insecure-policy`): these images
 * are unsigned and made by the test. Registry commands should also pass `--tls-verify=false`
 * (plain HTTP on loopback) and `--retry-times 0` (a failure must show, not be retried away).
 */
export function skopeo(args: string[], options: SkopeoOptions = {}): Promise<CommandResult> {
  const { timeoutMs = 60_000, debug = false, authFile, stdin } = options
  // --debug logs every HTTP request skopeo makes to stderr: what a test asserts the protocol by.
  const argv = [...(debug ? ['--debug'] : []), '--insecure-policy', ...args]
  const env = authFile === undefined ? process.env : { ...process.env, REGISTRY_AUTH_FILE: authFile }
  return runCommand(SKOPEO, 'skopeo', argv, argv, { timeoutMs, stdin, env })
}

/** Runs skopeo expecting it to fail; resolves with the failure (rejects if it succeeded). */
export function skopeoFails(args: string[], options: SkopeoOptions = {}): Promise<CommandError> {
  return commandFails('skopeo', args, () => skopeo(args, options))
}

/**
 * `docker://host:port/name:tag` (or `@digest`) for an origin URL like `http://127.0.0.1:1234`;
 * without a reference, the repository itself (what list-tags takes).
 */
export function dockerRef(registryUrl: string, name: string, reference?: string): string {
  const repository = `docker://${new URL(registryUrl).host}/${name}`
  if (reference === undefined) return repository
  return `${repository}${reference.includes(':') ? '@' : ':'}${reference}`
}

/** Flags for `skopeo copy` between an OCI layout and the registry, keeping every digest. */
export const PUSH_FLAGS = ['--dest-tls-verify=false', '--preserve-digests', '--retry-times', '0']
export const PULL_FLAGS = ['--src-tls-verify=false', '--preserve-digests', '--retry-times', '0']
/** Flags for inspect, list-tags and delete. */
export const REGISTRY_FLAGS = ['--tls-verify=false', '--retry-times', '0']

/** `user:secret` for `--creds`, `--src-creds` and `--dest-creds`. */
export function creds(user: string, secret: string): string {
  return `${user}:${secret}`
}

/**
 * An empty auth file at `path` (`{}`): podman and skopeo refuse to read a REGISTRY_AUTH_FILE
 * that does not exist, and `login` fills it in.
 */
export function tempAuthFile(path: string): string {
  writeFileSync(path, '{}\n', { mode: 0o600 })
  return path
}

/**
 * `skopeo login --password-stdin` into `authFile`: the secret goes through stdin, never argv
 * (argv is visible to every process on the machine).
 */
export function skopeoLogin(registryUrl: string, user: string, secret: string, authFile: string): Promise<CommandResult> {
  return skopeo(['login', '--tls-verify=false', '--username', user, '--password-stdin', new URL(registryUrl).host], { authFile, stdin: secret })
}
