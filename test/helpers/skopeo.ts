// Runs the real skopeo binary against a registry on loopback. Every call is bounded by a timeout
// and a failure carries skopeo's stderr, which names the HTTP status and error code it got.

import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'

export const SKOPEO = process.env.SKOPEO ?? '/usr/bin/skopeo'

export interface SkopeoResult {
  stdout: string
  stderr: string
}

export class SkopeoError extends Error {
  readonly code: number | string | null
  readonly stdout: string
  readonly stderr: string
  constructor(args: string[], code: number | string | null, stdout: string, stderr: string) {
    super(`skopeo ${redactCreds(args).join(' ')} failed (${code}):\n${stderr.trim() || stdout.trim()}`)
    this.name = 'SkopeoError'
    this.code = code
    this.stdout = stdout
    this.stderr = stderr
  }
}

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
export function skopeo(args: string[], options: SkopeoOptions = {}): Promise<SkopeoResult> {
  const { timeoutMs = 60_000, debug = false, authFile, stdin } = options
  // --debug logs every HTTP request skopeo makes to stderr: what a test asserts the protocol by.
  const argv = [...(debug ? ['--debug'] : []), '--insecure-policy', ...args]
  const env = authFile === undefined ? process.env : { ...process.env, REGISTRY_AUTH_FILE: authFile }
  return new Promise((resolve, reject) => {
    const child = execFile(SKOPEO, argv, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', env }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr })
      const code = err.killed ? `killed after ${timeoutMs} ms` : (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null
      reject(new SkopeoError(argv, code, stdout, stderr))
    })
    child.stdin?.end(stdin ?? '')
  })
}

/** Runs skopeo expecting it to fail; resolves with the failure (rejects if it succeeded). */
export async function skopeoFails(args: string[], options: SkopeoOptions = {}): Promise<SkopeoError> {
  try {
    const { stdout } = await skopeo(args, options)
    throw new Error(`skopeo ${redactCreds(args).join(' ')} unexpectedly succeeded:\n${stdout}`)
  } catch (err) {
    if (err instanceof SkopeoError) return err
    throw err
  }
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

/** The arguments with the secret of every `--creds`, `--src-creds`, `--dest-creds` value masked. */
export function redactCreds(args: string[]): string[] {
  return args.map((a, i) => (/^--(src-|dest-)?creds$/.test(args[i - 1] ?? '') ? a.replace(/:.*$/, ':***') : a.replace(/^(--(?:src-|dest-)?creds=[^:]*):.*$/, '$1:***')))
}

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
export function skopeoLogin(registryUrl: string, user: string, secret: string, authFile: string): Promise<SkopeoResult> {
  return skopeo(['login', '--tls-verify=false', '--username', user, '--password-stdin', new URL(registryUrl).host], { authFile, stdin: secret })
}
