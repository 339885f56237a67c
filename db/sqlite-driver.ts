// Picks the better-sqlite3 build that is safe on the running Node (README "Runtime: Node versions").
//
// better-sqlite3 13 is a Node-API addon, prebuilt inside the package: it needs Node-API 10
// (Node 22 and 24) and segfaults on Node 20. better-sqlite3 12 is compiled against Node's own
// ABI at install; it works on Node 20 and 22 but aborts Node 24 when the garbage collector frees
// a statement (`Assertion failed: (env) != nullptr` in Statement::~Statement). So Node 22/24 run
// 13 and Node 20 (past end of life, deprecated) runs 12, installed as the optional npm alias
// `better-sqlite3-node20` so that a failed compile on a newer Node does not fail `npm ci`.

import type BetterSqlite3 from 'better-sqlite3'
import { createRequire } from 'node:module'

export type SqliteDriver = typeof BetterSqlite3

/** Node-API version better-sqlite3 13 needs. */
const NODE_API_FOR_13 = 10
const CURRENT = 'better-sqlite3'
const LEGACY = 'better-sqlite3-node20'

export type DriverChoice = { module: string; reason: string }

/**
 * Which module to load. `override` (MERIDIAN_SQLITE_MODULE: a package name or an absolute path)
 * exists for the CI proofs that run better-sqlite3 12 on Node 24 on purpose, to show the crash
 * the choice avoids; production leaves it unset.
 */
export function chooseSqliteDriver(nodeApi: number, override?: string): DriverChoice {
  if (override) return { module: override, reason: 'MERIDIAN_SQLITE_MODULE' }
  if (nodeApi >= NODE_API_FOR_13) return { module: CURRENT, reason: `Node-API ${nodeApi}` }
  return { module: LEGACY, reason: `Node-API ${nodeApi} < ${NODE_API_FOR_13}` }
}

let loaded: SqliteDriver | null = null

/** Loads the chosen driver once per process; throws a message that says what to install. */
export function loadSqliteDriver(): SqliteDriver {
  if (loaded) return loaded
  const choice = chooseSqliteDriver(Number(process.versions.napi ?? 0), process.env.MERIDIAN_SQLITE_MODULE)
  const require = createRequire(import.meta.url)
  try {
    loaded = require(choice.module) as SqliteDriver
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err
    throw new Error(missingDriverMessage(choice), { cause: err })
  }
  // Operators see it at every start; test runs on Node 20 would print it once per test file.
  if (choice.module === LEGACY && !process.env.VITEST) {
    const eol = process.versions.node.startsWith('20.') ? 'is past end of life (April 2026)' : 'lacks Node-API 10'
    process.emitWarning(
      `Node ${process.versions.node} ${eol}: Meridian runs it through better-sqlite3 12, a ` +
        'deprecated path that will be dropped. Run Node 24 (or 22.14+).',
      { type: 'DeprecationWarning', code: 'MERIDIAN_NODE20' },
    )
  }
  return loaded
}

function missingDriverMessage(choice: DriverChoice): string {
  if (choice.module === LEGACY) {
    return (
      `Node ${process.versions.node} (${choice.reason}) needs better-sqlite3 12, installed as the ` +
      `optional dependency ${LEGACY}, and it is missing: its native build failed or was skipped ` +
      `during npm install. Run \`npm ci\` with this Node and a C++ toolchain, or run Node 22 or 24.`
    )
  }
  return `Cannot load the SQLite driver ${choice.module} (${choice.reason}): run \`npm ci\`.`
}
