// `${NAME}` in any string value of the file is replaced by that environment variable, so secrets
// (access keys, connection strings, database passwords) need not sit in the file. It runs on the
// parsed tree, never on the text: a value cannot inject YAML structure. `$${` stands for a
// literal `${`. An unset variable is a problem, never a silent empty string: an empty secret
// would surface much later as an opaque "access denied" from a cloud SDK.

import { at, problem, type Report } from './report.ts'
import { isMap } from './read-values.ts'

const REFERENCE = /\$(\$?)\{([^}]*)\}/g
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export function substituteEnv(value: unknown, env: Record<string, string | undefined>, report: Report, path = ''): unknown {
  if (typeof value === 'string') return substituteString(value, env, report, path)
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, report, at(path, i)))
  if (isMap(value)) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = substituteEnv(item, env, report, at(path, key))
    return out
  }
  return value
}

function substituteString(text: string, env: Record<string, string | undefined>, report: Report, path: string): string {
  if (!text.includes('${')) return text
  return text.replace(REFERENCE, (whole, escape: string, name: string) => {
    if (escape) return whole.slice(1)
    if (!VARIABLE_NAME.test(name)) {
      problem(report, path, `"\${${name}}" is not a valid environment variable reference`)
      return whole
    }
    const resolved = env[name]
    if (resolved === undefined) {
      problem(report, path, `environment variable ${name} is not set`)
      return whole
    }
    return resolved
  })
}
