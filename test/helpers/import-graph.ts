// The import graph the portability fence walks (ARCHITECTURE §3 dependency direction, §4.6 portable
// core). Pure functions over a `read` callback, so the fence's own tests run over an in-memory map
// and the real check over the working tree. Imports are found with regular expressions over the
// comment-stripped text: TypeScript syntax the fence does not understand fails safe (an import it
// cannot resolve is reported, never skipped).

import { builtinModules } from 'node:module'
import { posix } from 'node:path'

/** The text of a repo-relative posix path, or null when there is no such file. */
export type ReadFile = (path: string) => string | null

/** Runtime-specific leaves, repo-relative with `/` separators; a trailing `/` is a folder. */
export const EXEMPT = ['storage/drivers/fs.ts', 'storage/drivers/gcs.ts', 'edge/entry/']

/** What each portable folder may import (ARCHITECTURE §3: storage → oci; edge → storage, oci). */
export const LAYERS: Record<string, readonly string[]> = {
  oci: ['oci'],
  storage: ['oci', 'storage'],
  edge: ['oci', 'storage', 'edge'],
}

/** Packages that exist for Node only (native code, Node HTTP, process metrics), or that the
 * portable core has no use for: the edge speaks plain SQL through SqlStore, and drizzle's only
 * schema is db/schema.ts, which is origin-side, so any `drizzle-orm` import there is a mistake.
 * Hono's runtime adapters belong to the entries (edge/entry/*), which inject what they provide. */
export const NODE_ONLY_PACKAGES = [
  '@hono/node-server',
  'better-sqlite3',
  'better-sqlite3-node20',
  'prom-client',
  'drizzle-orm',
  'hono/bun',
  'hono/deno',
  'hono/cloudflare-workers',
]

const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')))

// Module specifiers of static imports/exports (also `import type`), side-effect imports, dynamic
// import() and require().
const SPECIFIERS = [
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\b(?:import|require)\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
]
// Node globals: `Buffer.from`, `process.env`, `new Buffer(`, `globalThis.process.`, `setImmediate(`,
// `global.`, the `NodeJS.` type namespace, `__dirname`; not `x.process.` or `myBuffer.`.
const NODE_GLOBALS =
  /(?<![\w$]|(?<!globalThis)\.)(?:(?:Buffer|process|global|NodeJS)\s*\.|(?:Buffer|process|setImmediate|clearImmediate)\s*\(|__(?:dirname|filename)\b)/g

/** Drops comments so prose ("no Buffer.from here") does not trip the fence; keeps `://` in URLs. */
export function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
}

/** Every module specifier a source text imports, in order of appearance per pattern. */
export function importsOf(source: string): string[] {
  const code = stripComments(source)
  return SPECIFIERS.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => m[1]!))
}

/** Why a bare or scheme specifier is not portable, or null when it is. */
export function forbiddenSpecifier(specifier: string): string | null {
  if (specifier.startsWith('node:')) return 'a Node built-in'
  // bun:sqlite, cloudflare:workers, npm:x, https://...: each ties the file to one runtime.
  if (/^[a-z][\w+.-]*:/i.test(specifier)) return 'a runtime-specific scheme'
  const parts = specifier.split('/')
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
  if (BUILTINS.has(parts[0]!) || BUILTINS.has(specifier)) return 'a Node built-in'
  if (NODE_ONLY_PACKAGES.some((p) => p === name || p === specifier || specifier.startsWith(`${p}/`))) return 'a Node-only package'
  return null
}

/** The Node globals a source text touches (`Buffer.`, `process.`), one entry per use. */
export function nodeGlobalsOf(source: string): string[] {
  return [...stripComments(source).matchAll(NODE_GLOBALS)].map((m) => m[0].replace(/\s*[.(]$/, ''))
}

/** Violations of one source text taken alone: forbidden imports and Node globals. */
export function findViolations(source: string): string[] {
  const found: string[] = []
  for (const specifier of importsOf(source)) {
    const why = forbiddenSpecifier(specifier)
    if (why) found.push(`imports '${specifier}' (${why})`)
  }
  for (const name of nodeGlobalsOf(source)) found.push(`uses the Node global '${name}'`)
  return found
}

export function isExempt(path: string): boolean {
  return EXEMPT.some((e) => (e.endsWith('/') ? path.startsWith(e) : path === e))
}

/** The file a relative specifier names, as TypeScript's bundler/NodeNext resolution finds it:
 * the path itself, `.js` → `.ts` (`.mjs` → `.mts`), no extension → `.ts` or `index.ts`. */
export function resolveRelative(from: string, specifier: string, read: ReadFile): string | null {
  const base = posix.normalize(posix.join(posix.dirname(from), specifier))
  const candidates = [base]
  if (/\.[cm]?js$/.test(base)) candidates.unshift(base.replace(/js$/, 'ts'))
  else if (!/\.[cm]?tsx?$|\.json$/.test(base)) candidates.push(`${base}.ts`, `${base}/index.ts`, `${base}.js`, `${base}/index.js`)
  return candidates.find((c) => read(c) !== null) ?? null
}

const layerOf = (path: string): string => path.split('/')[0]!

/**
 * Every violation reachable from the roots, each as `a → b → c: reason` (the shortest chain from a
 * root). Walks relative imports breadth first; a portable file may import only its own layer and
 * those below, must not reach a runtime-specific leaf, and neither it nor anything it reaches may
 * import a Node built-in or Node-only package or touch a Node global.
 */
export function checkPortable(roots: readonly string[], read: ReadFile): string[] {
  const via = new Map<string, string | null>(roots.map((r) => [r, null]))
  const queue = [...roots]
  const found: string[] = []
  const chain = (file: string): string => {
    const links = [file]
    for (let at = via.get(file); at; at = via.get(at)) links.unshift(at)
    return links.join(' → ')
  }
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const source = read(file)
    if (source === null) continue
    for (const name of nodeGlobalsOf(source)) found.push(`${chain(file)}: uses the Node global '${name}'`)
    for (const specifier of importsOf(source)) {
      if (!specifier.startsWith('.')) {
        const why = forbiddenSpecifier(specifier)
        if (why) found.push(`${chain(file)}: imports '${specifier}' (${why})`)
        continue
      }
      const target = resolveRelative(file, specifier, read)
      if (target === null) {
        found.push(`${chain(file)}: imports '${specifier}', which resolves to no file`)
        continue
      }
      const allowed = LAYERS[layerOf(file)] ?? []
      if (!allowed.includes(layerOf(target))) {
        found.push(`${chain(file)} → ${target}: ${layerOf(file)}/ may import only ${allowed.map((l) => `${l}/`).join(', ')}`)
      } else if (isExempt(target)) {
        found.push(`${chain(file)} → ${target}: reaches a runtime-specific leaf`)
      } else if (!via.has(target)) {
        via.set(target, file)
        queue.push(target)
      }
    }
  }
  return found
}

/** Imports from `files` that resolve under `forbidden/`, as `file → target`. Direct imports only:
 * the layers in between (oci/, storage/) cannot reach either side, checkPortable sees to that. */
export function importsInto(files: readonly string[], forbidden: string, read: ReadFile): string[] {
  const found: string[] = []
  for (const file of files) {
    const source = read(file)
    if (source === null) continue
    for (const specifier of importsOf(source)) {
      if (!specifier.startsWith('.')) continue
      const target = resolveRelative(file, specifier, read)
      if (target?.startsWith(`${forbidden}/`)) found.push(`${file} → ${target}`)
    }
  }
  return found
}
