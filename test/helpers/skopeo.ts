// Runs the real skopeo binary against a registry on loopback. Every call is bounded by a timeout
// and a failure carries skopeo's stderr, which names the HTTP status and error code it got.

import { execFile } from 'node:child_process'

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
    super(`skopeo ${args.join(' ')} failed (${code}):\n${stderr.trim() || stdout.trim()}`)
    this.name = 'SkopeoError'
    this.code = code
    this.stdout = stdout
    this.stderr = stderr
  }
}

/**
 * `skopeo <global flags> <args>`. The trust policy is skipped (`--insecure-policy`): these images
 * are unsigned and made by the test. Registry commands should also pass `--tls-verify=false`
 * (plain HTTP on loopback) and `--retry-times 0` (a failure must show, not be retried away).
 */
export function skopeo(args: string[], options: { timeoutMs?: number; debug?: boolean } = {}): Promise<SkopeoResult> {
  const { timeoutMs = 60_000, debug = false } = options
  // --debug logs every HTTP request skopeo makes to stderr: what a test asserts the protocol by.
  const argv = [...(debug ? ['--debug'] : []), '--insecure-policy', ...args]
  return new Promise((resolve, reject) => {
    execFile(SKOPEO, argv, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr })
      const code = err.killed ? `killed after ${timeoutMs} ms` : (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null
      reject(new SkopeoError(argv, code, stdout, stderr))
    })
  })
}

/** Runs skopeo expecting it to fail; resolves with the failure (rejects if it succeeded). */
export async function skopeoFails(args: string[], options: { timeoutMs?: number } = {}): Promise<SkopeoError> {
  try {
    const { stdout } = await skopeo(args, options)
    throw new Error(`skopeo ${args.join(' ')} unexpectedly succeeded:\n${stdout}`)
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
