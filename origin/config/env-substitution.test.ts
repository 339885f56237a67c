import { describe, expect, it } from 'vitest'
import { substituteEnv } from './env-substitution.ts'
import { createReport } from './report.ts'

function substitute(value: unknown, env: Record<string, string | undefined>) {
  const report = createReport()
  return { value: substituteEnv(value, env, report), problems: report.problems }
}

describe('substituteEnv', () => {
  it('replaces ${NAME} anywhere in strings, in maps and lists, and leaves other values alone', () => {
    const tree = { a: 'x-${A}-y', list: ['${B}', 3, true, null], nested: { url: 'postgres://u:${PW}@db/m' } }
    expect(substitute(tree, { A: '1', B: '2', PW: 'p@ss' })).toEqual({
      value: { a: 'x-1-y', list: ['2', 3, true, null], nested: { url: 'postgres://u:p@ss@db/m' } },
      problems: [],
    })
  })

  it('substitutes an empty variable as empty: it is set', () => {
    expect(substitute({ a: '${EMPTY}' }, { EMPTY: '' }).value).toEqual({ a: '' })
  })

  it('reports an unset variable with its path, and each one', () => {
    expect(substitute({ locations: { x: { params: { key: '${K1}/${K2}' } } }, list: ['${K3}'] }, {}).problems).toEqual([
      'locations.x.params.key: environment variable K1 is not set',
      'locations.x.params.key: environment variable K2 is not set',
      'list[0]: environment variable K3 is not set',
    ])
  })

  it('keeps $${NAME} as a literal ${NAME}', () => {
    expect(substitute({ a: 'price: $${DOLLARS}, ${A}' }, { A: 'a' })).toEqual({ value: { a: 'price: ${DOLLARS}, a' }, problems: [] })
  })

  it('never re-reads substituted text: values cannot inject references or YAML', () => {
    expect(substitute({ a: '${A}' }, { A: '${B}\nb: [1' }).value).toEqual({ a: '${B}\nb: [1' })
  })

  it('reports a malformed reference', () => {
    expect(substitute({ a: '${1BAD}' }, {}).problems).toEqual(['a: "${1BAD}" is not a valid environment variable reference'])
  })
})
