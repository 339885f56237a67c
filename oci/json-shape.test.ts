import { describe, expect, it } from 'vitest'
import { scanJsonShape } from './json-shape.ts'

const scan = (text: string, maxDepth = 100, maxValues = 1_000_000) => scanJsonShape(new TextEncoder().encode(text), { maxDepth, maxValues })

describe('scanJsonShape', () => {
  it('measures nesting depth and values', () => {
    expect(scan('{}')).toEqual({ depth: 1, values: 1 })
    expect(scan('{"a":[1,2,{"b":[]}]}')).toEqual({ depth: 4, values: 8 })
    expect(scan('"plain"')).toEqual({ depth: 0, values: 0 })
  })

  it('ignores brackets, commas and colons inside strings, escaped quotes included', () => {
    expect(scan('{"a":"[[[{{,:,\\"]]]"}')).toEqual({ depth: 1, values: 2 })
    expect(scan('["\\\\",["x"]]')).toEqual({ depth: 2, values: 3 })
  })

  it('is not fooled by multi-byte UTF-8 characters', () => {
    expect(scan('{"ü€😀":["ü[", "€"]}')).toEqual({ depth: 2, values: 4 })
  })

  it('stops at the first nesting past the limit, without reading the rest', () => {
    const deep = '['.repeat(2_000_000) + ']'.repeat(2_000_000)
    const started = performance.now()
    expect(scan(deep, 64)).toEqual({ depth: 65, values: 65 })
    expect(performance.now() - started).toBeLessThan(200)
  })

  it('stops when the values pass the limit', () => {
    expect(scan(`[${'1,'.repeat(5_000)}1]`, 100, 1_000).values).toBe(1_001)
  })
})
