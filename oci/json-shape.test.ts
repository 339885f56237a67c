import { describe, expect, it } from 'vitest'
import { createJsonShapeScanner, scanJsonShape } from './json-shape.ts'

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
    expect(scan(deep, 64)).toEqual({ depth: 65, values: 65 })
  })

  it('measures the same across chunk boundaries, an escape split between chunks included', () => {
    const text = new TextEncoder().encode('{"a\\"[[":[[1,{"b\\\\":2}]],"c":"]]\\""}')
    const whole = scanJsonShape(text, { maxDepth: 100, maxValues: 100 })
    for (let cut = 0; cut <= text.length; cut++) {
      const scanner = createJsonShapeScanner({ maxDepth: 100, maxValues: 100 })
      scanner.push(text.subarray(0, cut))
      expect(scanner.push(text.subarray(cut))).toEqual(whole)
    }
    expect(whole).toEqual({ depth: 4, values: 9 })
  })

  it('stops when the values pass the limit', () => {
    expect(scan(`[${'1,'.repeat(5_000)}1]`, 100, 1_000).values).toBe(1_001)
  })
})
