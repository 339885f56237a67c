// The operator scripts (scripts/*.ts) bundled once per test file, run with plain node. `npm run
// gc` and the like run them through tsx, whose start costs ~1.5 s of CPU per process here (the
// loader, then ~450 drizzle-orm modules resolved one by one: on Node 22 and 24 each re-reads
// drizzle-orm's 178 KB package.json, README "Start-up on Node 22 and 24"); a test that runs a
// script five times paid it five times. The bundle is built from the same source with the same
// settings as scripts/build.mjs (what ships for the origin and worker): drizzle-orm inside,
// every other dependency from node_modules, the migrations copied beside it, so the script's own
// code runs unchanged. That the scripts also load under tsx is shown by the tests that run them
// so (test/faults/crash-loops.test.ts runs gc and verify that way).

import { execFile } from 'node:child_process'
import { cpSync, readFileSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { build } from 'esbuild'

const ROOT = join(new URL('.', import.meta.url).pathname, '..', '..')
const execFileAsync = promisify(execFile)

export interface ScriptRun { code: number; stdout: string; stderr: string }

export interface ScriptBundle {
  /** Runs scripts/<name>.ts (bundled) with `args`; resolves its exit status and output, also when it failed. */
  run(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<ScriptRun>
  /** The bundle of scripts/<name>.ts, to run with `node <path>`. */
  path(name: string): string
  /** Removes the bundle's directory. */
  remove(): void
}

/**
 * Bundles scripts/<name>.ts for each of `names` (`gc`, `bench/scale-jobs-worker`) into a
 * directory of its own inside the repository (node_modules/.cache, so that bare imports resolve
 * to node_modules). Every bundle sits at the directory's top, beside the migrations it finds.
 */
export async function bundleScripts(names: string[]): Promise<ScriptBundle> {
  const outdir = join(ROOT, 'node_modules', '.cache', `meridian-scripts-${process.pid}-${Math.random().toString(36).slice(2, 8)}`)
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> }
  const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })
    .filter((name) => name !== 'drizzle-orm')
    .flatMap((name) => [name, `${name}/*`])
  try {
    await build({
      entryPoints: Object.fromEntries(names.map((n) => [basename(n), join(ROOT, 'scripts', `${n}.ts`)])),
      outdir, outExtension: { '.js': '.mjs' }, bundle: true, splitting: true, platform: 'node', format: 'esm', target: 'node20', external, logLevel: 'warning',
    })
    // db/migrate.ts finds them beside the bundle (import.meta.url), as in dist/.
    cpSync(join(ROOT, 'db', 'migrations'), join(outdir, 'migrations'), { recursive: true })
    cpSync(join(ROOT, 'db', 'migrations-pg'), join(outdir, 'migrations-pg'), { recursive: true })
  } catch (err) {
    rmSync(outdir, { recursive: true, force: true })
    throw err
  }
  const path = (name: string) => {
    if (!names.includes(name)) throw new Error(`${name} was not bundled`)
    return join(outdir, `${basename(name)}.mjs`)
  }
  return {
    path,
    async run(name, args, env) {
      try {
        const { stdout, stderr } = await execFileAsync(process.execPath, [path(name), ...args], { cwd: ROOT, env, timeout: 60_000 })
        return { code: 0, stdout, stderr }
      } catch (err) {
        const e = err as { code: number | string; stdout?: string; stderr?: string }
        // A script that could not run at all (spawn error, timeout) has no numeric status: show why.
        if (typeof e.code !== 'number') throw err
        return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
      }
    },
    remove: () => rmSync(outdir, { recursive: true, force: true }),
  }
}
