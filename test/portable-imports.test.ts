// The portability fence (ARCHITECTURE §3, §4.6): oci/, storage/ and edge/ run unchanged on Workers,
// Bun, Deno and Node, so nothing they import, directly or through other files, is a Node built-in,
// a Node-only package or a Node global, and imports point one way (edge → storage → oci, never to
// origin/, db/ or scripts/). The runtime-specific leaves (test/helpers/import-graph.ts EXEMPT) are
// not checked but must not be reached. This file itself runs on Node only, so it reads the tree
// with node:fs.

import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { checkPortable, findViolations, importsInto, isExempt, type ReadFile } from './helpers/import-graph.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PORTABLE_DIRS = ['oci', 'storage', 'edge']
const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/
const TEST = /\.test\.[cm]?[jt]sx?$/

const readTree: ReadFile = (path) => {
  const absolute = join(ROOT, path)
  return existsSync(absolute) && statSync(absolute).isFile() ? readFileSync(absolute, 'utf8') : null
}

/** Source files under dir, as repo-relative posix paths; tests and declarations left out. */
function sourceFiles(dir: string): string[] {
  const absolute = join(ROOT, dir)
  if (!existsSync(absolute)) return []
  const files: string[] = []
  for (const entry of readdirSync(absolute, { recursive: true, encoding: 'utf8' })) {
    const path = relative(ROOT, join(absolute, entry)).split(sep).join('/')
    if (path.split('/').includes('node_modules')) continue
    if (!SOURCE.test(path) || TEST.test(path) || path.endsWith('.d.ts')) continue
    if (statSync(join(ROOT, path)).isFile()) files.push(path)
  }
  return files.sort()
}

/** An in-memory tree for the fence's own tests. */
function memoryTree(files: Record<string, string>): ReadFile {
  return (path) => files[path] ?? null
}

describe('portable core imports nothing runtime-specific', () => {
  const roots = PORTABLE_DIRS.flatMap(sourceFiles).filter((f) => !isExempt(f))

  it('finds the portable sources to check', () => {
    expect(roots).toContain('oci/errors.ts')
    expect(roots).toContain('storage/distance.ts')
    expect(roots).not.toContain('storage/drivers/fs.ts')
  })

  it('reaches no node: module, Node built-in, Node-only package, Node global, runtime leaf or upper layer', () => {
    expect(checkPortable(roots, readTree)).toEqual([])
  })

  it('keeps origin/ and edge/ apart: neither imports the other (tests aside)', () => {
    expect(importsInto(sourceFiles('origin'), 'edge', readTree)).toEqual([])
    expect(importsInto(sourceFiles('edge'), 'origin', readTree)).toEqual([])
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
      expect(findViolations(`import x from '${name}'`), name).toEqual([`imports '${name}' (a Node built-in)`])
    }
  })

  it('catches Node-only packages and their subpaths, and runtime schemes', () => {
    const names = ['@hono/node-server', '@hono/node-server/conninfo', 'better-sqlite3', 'better-sqlite3-node20', 'prom-client',
      'drizzle-orm', 'drizzle-orm/better-sqlite3', 'drizzle-orm/sqlite-core', 'hono/bun', 'bun:sqlite', 'cloudflare:workers']
    for (const name of names) expect(findViolations(`import x from '${name}'`), name).toHaveLength(1)
  })

  it('catches multi-line import lists', () => {
    expect(findViolations("import {\n  readFile,\n  writeFile,\n} from 'fs'")).toEqual(["imports 'fs' (a Node built-in)"])
  })

  it('catches Node globals: Buffer, process, global, setImmediate, __dirname, the NodeJS namespace', () => {
    const uses = ['Buffer.from(x)', 'const e = process.env.X', 'new Buffer(3)', 'globalThis.process.exit(1)', 'global.gc()',
      'setImmediate(run)', 'const d = __dirname', 'let t: NodeJS.Timeout']
    for (const code of uses) {
      expect(findViolations(code), code).toHaveLength(1)
    }
  })

  it('allows portable imports, lookalike names, properties and comments', () => {
    const source = [
      "import { Hono } from 'hono'",
      "import { cors } from 'hono/cors'",
      "import { sha256 } from '@noble/hashes/sha2.js'",
      "import { parseDigest } from '../oci/digest.ts'",
      "import { pathToKey } from './paths.ts'",
      "import { x } from 'prom-clientele'",
      'const job = queue.process(item); subprocess.run(); myBuffer.length; globalThis.fetch; x.global.y',
      'setTimeout(run, 0); const globalCount = 1',
      '// no Buffer.from or process.env here, and no import from "node:fs"',
      "/* require('fs') */ const url = 'https://example.com//x'",
    ].join('\n')
    expect(findViolations(source)).toEqual([])
  })
})

describe('the fence follows imports', () => {
  it('reports a Node import two files away with the chain that reaches it', () => {
    const tree = memoryTree({
      'edge/app.ts': "import { locate } from './geo/chain.ts'",
      'edge/geo/chain.ts': "export { open } from '../../storage/helper.js'",
      'storage/helper.ts': "import { readFile } from 'node:fs/promises'\nexport const n = process.pid",
    })
    expect(checkPortable(['edge/app.ts'], tree)).toEqual([
      "edge/app.ts → edge/geo/chain.ts → storage/helper.ts: uses the Node global 'process'",
      "edge/app.ts → edge/geo/chain.ts → storage/helper.ts: imports 'node:fs/promises' (a Node built-in)",
    ])
  })

  it('resolves index files and extensionless specifiers, and reports what resolves to nothing', () => {
    const tree = memoryTree({
      'edge/a.ts': "import './geo'\nimport './b'\nimport './missing.js'",
      'edge/geo/index.ts': "import 'better-sqlite3'",
      'edge/b.ts': "import 'prom-client'",
    })
    expect(checkPortable(['edge/a.ts'], tree)).toEqual([
      "edge/a.ts: imports './missing.js', which resolves to no file",
      "edge/a.ts → edge/geo/index.ts: imports 'better-sqlite3' (a Node-only package)",
      "edge/a.ts → edge/b.ts: imports 'prom-client' (a Node-only package)",
    ])
  })

  it('refuses upward imports: portable code into origin/, db/, scripts/; oci/ into storage/; storage/ into edge/', () => {
    const tree = memoryTree({
      'edge/a.ts': "import '../origin/log.ts'\nimport '../db/queries/blobs.ts'\nimport '../scripts/gc.ts'",
      'oci/range.ts': "import type { ByteRange } from '../storage/engine.ts'",
      'storage/x.ts': "import '../edge/a.ts'",
      'origin/log.ts': '', 'db/queries/blobs.ts': '', 'scripts/gc.ts': '', 'storage/engine.ts': '',
    })
    const found = checkPortable(['oci/range.ts', 'storage/x.ts'], tree)
    expect(found).toEqual([
      'oci/range.ts → storage/engine.ts: oci/ may import only oci/',
      'storage/x.ts → edge/a.ts: storage/ may import only oci/, storage/',
    ])
    expect(checkPortable(['edge/a.ts'], tree)).toEqual([
      'edge/a.ts → origin/log.ts: edge/ may import only oci/, storage/, edge/',
      'edge/a.ts → db/queries/blobs.ts: edge/ may import only oci/, storage/, edge/',
      'edge/a.ts → scripts/gc.ts: edge/ may import only oci/, storage/, edge/',
    ])
  })

  it('refuses reaching a runtime-specific leaf, and visits each file once across cycles', () => {
    const tree = memoryTree({
      'storage/lazy.ts': "import './drivers/fs.ts'\nimport './cycle.ts'",
      'storage/cycle.ts': "import './lazy.ts'\nimport { x } from './drivers/fs.ts'",
      'storage/drivers/fs.ts': "import 'node:fs'",
    })
    expect(checkPortable(['storage/lazy.ts', 'storage/cycle.ts'], tree)).toEqual([
      'storage/lazy.ts → storage/drivers/fs.ts: reaches a runtime-specific leaf',
      'storage/cycle.ts → storage/drivers/fs.ts: reaches a runtime-specific leaf',
    ])
  })

  it('passes a clean tree', () => {
    const tree = memoryTree({
      'edge/a.ts': "import { Hono } from 'hono'\nimport { distanceKm } from '../storage/distance.ts'",
      'storage/distance.ts': "import type { ByteRange } from '../oci/range.ts'",
      'oci/range.ts': "import { ociError } from './errors.ts'",
      'oci/errors.ts': '',
    })
    expect(checkPortable(['edge/a.ts'], tree)).toEqual([])
  })

  it('finds origin/ importing edge/ and edge/ importing origin/', () => {
    const tree = memoryTree({
      'origin/copy.ts': "import { nearestFirst } from '../edge/nearest.ts'",
      'edge/nearest.ts': "import { log } from '../origin/log.ts'",
      'origin/log.ts': '',
    })
    expect(importsInto(['origin/copy.ts', 'origin/log.ts'], 'edge', tree)).toEqual(['origin/copy.ts → edge/nearest.ts'])
    expect(importsInto(['edge/nearest.ts'], 'origin', tree)).toEqual(['edge/nearest.ts → origin/log.ts'])
  })
})
