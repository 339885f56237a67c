// Running a registry client binary (skopeo, podman) from a test: its output on success, a
// CommandError with the exit code and output on failure (secrets in --creds masked), and the
// failure a test expects. test/helpers/skopeo.ts and podman.ts build on it.

import { execFile } from 'node:child_process'

export interface CommandResult {
  stdout: string
  stderr: string
}

export class CommandError extends Error {
  readonly code: number | string | null
  readonly stdout: string
  readonly stderr: string
  constructor(tool: string, args: string[], code: number | string | null, stdout: string, stderr: string) {
    super(`${tool} ${redactCreds(args).join(' ')} failed (${code}):\n${stderr.trim() || stdout.trim()}`)
    this.name = 'CommandError'
    this.code = code
    this.stdout = stdout
    this.stderr = stderr
  }
}

/** `binary argv`; a failure names only `shown` (what the test asked for, not every global flag). */
export function runCommand(binary: string, tool: string, argv: string[], shown: string[], options: { timeoutMs: number; stdin?: string; env: NodeJS.ProcessEnv }): Promise<CommandResult> {
  const { timeoutMs, stdin, env } = options
  return new Promise((resolve, reject) => {
    const child = execFile(binary, argv, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', env }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr })
      const code = err.killed ? `killed after ${timeoutMs} ms` : (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null
      reject(new CommandError(tool, shown, code, stdout, stderr))
    })
    child.stdin?.end(stdin ?? '')
  })
}

/** Runs `run` expecting it to fail; resolves with the failure (rejects if it succeeded). */
export async function commandFails(tool: string, args: string[], run: () => Promise<CommandResult>): Promise<CommandError> {
  try {
    const { stdout } = await run()
    throw new Error(`${tool} ${redactCreds(args).join(' ')} unexpectedly succeeded:\n${stdout}`)
  } catch (err) {
    if (err instanceof CommandError) return err
    throw err
  }
}

/** The arguments with the secret of every `--creds`, `--src-creds`, `--dest-creds` value masked. */
export function redactCreds(args: string[]): string[] {
  return args.map((a, i) => (/^--(src-|dest-)?creds$/.test(args[i - 1] ?? '') ? a.replace(/:.*$/, ':***') : a.replace(/^(--(?:src-|dest-)?creds=[^:]*):.*$/, '$1:***')))
}
