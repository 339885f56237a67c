// Bundles the process entry points into dist/ as plain JavaScript, so production runs on node
// alone: no TypeScript loader thread (tsx costs ~35 MiB per process). Dependencies stay external
// (node_modules); the database migrations are copied beside the bundles. An argument names another
// output directory (the crash-loop tests build their own copy, inside the repository so that
// node_modules resolves).
import { build } from 'esbuild'
import { cpSync, rmSync } from 'node:fs'

const entries = { origin: 'origin/main.ts', worker: 'origin/worker-main.ts', demo: 'scripts/demo.ts' }
const outdir = process.argv[2] ?? 'dist'
rmSync(outdir, { recursive: true, force: true })
await build({
  entryPoints: entries,
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  splitting: true,
  sourcemap: 'linked',
  logLevel: 'warning',
})
cpSync('db/migrations', `${outdir}/migrations`, { recursive: true })
