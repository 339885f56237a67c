// One table of the repository's wrangler.toml, for the config `wranglerDev()` generates
// (test/helpers/runtime-edge.ts): the Worker the tests run in workerd gets the very [alias] and
// [define] that `wrangler deploy` uses, so the two cannot drift apart.

import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

/**
 * The `"key" = "value"` (or `'value'`) lines of `[table]` in wrangler.toml. Only that form: a line
 * of any other form in the table throws, rather than being left out of the test's Worker.
 */
export function wranglerTable(table: string, path = join(ROOT, 'wrangler.toml')): Record<string, string> {
  const entries: Record<string, string> = {}
  let inside = false
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim()
    if (line.startsWith('[')) {
      inside = line === `[${table}]`
      continue
    }
    if (!inside || line === '' || line.startsWith('#')) continue
    const m = /^"([^"\\]+)"\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')$/.exec(line)
    if (!m) throw new Error(`wrangler.toml [${table}]: cannot read ${JSON.stringify(line)}`)
    entries[m[1]!] = m[3] ?? JSON.parse(`"${m[2]!}"`) as string
  }
  return entries
}

/** wrangler.toml's [alias], its paths made absolute (they are relative to the repository). */
export function wranglerAliases(): Record<string, string> {
  return Object.fromEntries(Object.entries(wranglerTable('alias')).map(([name, path]) => [name, join(ROOT, path)]))
}
