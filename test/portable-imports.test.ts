// The portability fence (ARCHITECTURE §4.6): oci/, storage/ and edge/ run unchanged on Workers,
// Bun, Deno and Node, so they import no Node built-in and touch no Node global. The runtime-specific
// leaves are named below; everything else under those folders is scanned. This file itself runs on
// Node only, so it may read the tree with node:fs.

import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PORTABLE_DIRS = ['oci', 'storage', 'edge']
/** Runtime-specific leaves, relative to the repo root with `/` separators; a trailing `/` is a folder. */
const EXEMPT = ['storage/drivers/fs.ts', 'storage/drivers/gcs.ts', 'edge/entry/']
const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/
const TEST = /\.test\.[cm]?[jt]sx?$/

/** Bare specifiers refused besides `node:*`: every Node built-in (fs, path, crypto, stream,
 * buffer, ...), their subpaths (fs/promises), and native packages. */
const FORBIDDEN = new Set([...builtinModules.filter((m) => !m.startsWith('_')), 'better-sqlite3'])

// Module specifiers of static imports/exports (also `import type`), side-effect imports, dynamic
// import() and require().
const SPECIFIERS = [
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\b(?:import|require)\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
]
// Node globals: `Buffer.from`, `process.env`, `new Buffer(`, `globalThis.process.`; not `x.process.`.
const NODE_GLOBALS = /(?<![\w$]|(?<!globalThis)\.)(?:Buffer|process)\s*(?:\.|\()/g

function isForbiddenSpecifier(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true
  const bare = specifier.split('/')[0]!
  return FORBIDDEN.has(bare) || FORBIDDEN.has(specifier)
}

/** Drops comments so prose ("no Buffer.from here") does not trip the fence; keeps `://` in URLs. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
}

/** Every reason a source text is not portable, one line each. */
function findViolations(source: string): string[] {
  const code = stripComments(source)
  const found: string[] = []
  for (const pattern of SPECIFIERS) {
    for (const match of code.matchAll(pattern)) {
      if (isForbiddenSpecifier(match[1]!)) found.push(`imports '${match[1]}'`)
    }
  }
  for (const match of code.matchAll(NODE_GLOBALS)) found.push(`uses the Node global '${match[0].trim()}'`)
  return found
}

function toPosix(path: string): string {
  return path.split(sep).join('/')
}

function isExempt(path: string): boolean {
  return EXEMPT.some((e) => (e.endsWith('/') ? path.startsWith(e) : path === e))
}

/** Portable source files under dir, as repo-relative posix paths. */
function portableFiles(dir: string): string[] {
  const absolute = join(ROOT, dir)
  if (!existsSync(absolute)) return []
  const files: string[] = []
  for (const entry of readdirSync(absolute, { recursive: true, encoding: 'utf8' })) {
    const path = toPosix(relative(ROOT, join(absolute, entry)))
    if (path.split('/').includes('node_modules')) continue
    if (!SOURCE.test(path) || TEST.test(path) || path.endsWith('.d.ts') || isExempt(path)) continue
    if (statSync(join(ROOT, path)).isFile()) files.push(path)
  }
  return files.sort()
}

describe('portable core imports nothing runtime-specific', () => {
  const files = PORTABLE_DIRS.flatMap(portableFiles)

  it('finds the portable sources to check', () => {
    expect(files).toContain('oci/errors.ts')
  })

  it('has no node: module, Node built-in, native package, Buffer or process in oci/, storage/, edge/', () => {
    const report = files.flatMap((file) => findViolations(readFileSync(join(ROOT, file), 'utf8')).map((v) => `${file}: ${v}`))
    expect(report).toEqual([])
  })
})

describe('the fence itself', () => {
  it('catches node: imports, static, type-only, re-exported, side-effect, dynamic and required', () => {
    const source = [
      "import { createHash } from 'node:crypto'",
      "import type { Readable } from 'node:stream'",
      "export { join } from 'node:path'",
      "import 'node:process'",
      "const fs = await import('node:fs/promises')",
      "const db = require('better-sqlite3')",
    ].join('\n')
    expect(findViolations(source)).toHaveLength(6)
  })

  it('catches bare built-ins and their subpaths: fs, path, crypto, stream, buffer, fs/promises', () => {
    for (const name of ['fs', 'path', 'crypto', 'stream', 'buffer', 'fs/promises', 'stream/web', 'os']) {
      expect(findViolations(`import x from '${name}'`), name).toEqual([`imports '${name}'`])
    }
  })

  it('catches multi-line import lists', () => {
    expect(findViolations("import {\n  readFile,\n  writeFile,\n} from 'fs'")).toEqual(["imports 'fs'"])
  })

  it('catches Buffer and process globals', () => {
    for (const code of ['Buffer.from(x)', 'const e = process.env.X', 'new Buffer(3)', 'globalThis.process.exit(1)']) {
      expect(findViolations(code), code).toHaveLength(1)
    }
  })

  it('allows portable imports, lookalike names, properties and comments', () => {
    const source = [
      "import { Hono } from 'hono'",
      "import { sha256 } from '@noble/hashes/sha2.js'",
      "import { parseDigest } from '../oci/digest.ts'",
      "import { pathToKey } from './paths.ts'",
      'const job = queue.process(item); subprocess.run(); myBuffer.length',
      '// no Buffer.from or process.env here, and no import from "node:fs"',
      "/* require('fs') */ const url = 'https://example.com//x'",
    ].join('\n')
    expect(findViolations(source)).toEqual([])
  })
})
