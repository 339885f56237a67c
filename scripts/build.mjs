// Bundles the process entry points into dist/ as plain JavaScript, so production runs on node
// alone: no TypeScript loader thread (tsx costs ~35 MiB per process). Dependencies stay external
// (node_modules) but for drizzle-orm (below); the database migrations are copied beside the bundles. An argument names another
// output directory (the crash-loop tests build their own copy, inside the repository so that
// node_modules resolves).
import { build } from 'esbuild'
import { cpSync, readFileSync, rmSync } from 'node:fs'

// drizzle-orm is bundled: Node 22 and 24 re-read its 178 KB package.json for each of the ~450
// modules it loads (package scope lookups), which cost ~0.5 s and ~100-170 MiB of garbage at every
// start (Node 20: 0.15 s). Everything else stays in node_modules: native addons, lazily loaded SDKs.
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const BUNDLED = new Set(['drizzle-orm'])
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`])

const entries = { origin: 'origin/main.ts', worker: 'origin/worker-main.ts', demo: 'scripts/demo.ts', edge: 'edge/entry/node-main.ts' }
const outdir = process.argv[2] ?? 'dist'
rmSync(outdir, { recursive: true, force: true })
const common = { outdir, outExtension: { '.js': '.mjs' }, bundle: true, platform: 'node', format: 'esm', target: 'node20', external, sourcemap: 'linked', logLevel: 'warning' }
await build({ ...common, entryPoints: entries, splitting: true })
cpSync('db/migrations', `${outdir}/migrations`, { recursive: true })
cpSync('db/migrations-pg', `${outdir}/migrations-pg`, { recursive: true })
