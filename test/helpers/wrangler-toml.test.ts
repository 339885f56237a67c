import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { wranglerAliases, wranglerTable } from './wrangler-toml.ts'

describe('wranglerTable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-wrangler-toml-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const write = (text: string) => {
    const path = join(dir, `${crypto.randomUUID()}.toml`)
    writeFileSync(path, text)
    return path
  }

  it('reads the string entries of one table, basic and literal strings, comments skipped', () => {
    const path = write('[vars]\nA = "x"\n[define]\n# why\n"import.meta.url" = \'"file:///w.js"\'\n"B" = "a\\"b"\n\n[alias]\n"c" = "./d"\n')
    expect(wranglerTable('define', path)).toEqual({ 'import.meta.url': '"file:///w.js"', B: 'a"b' })
    expect(wranglerTable('alias', path)).toEqual({ c: './d' })
    expect(wranglerTable('missing', path)).toEqual({})
  })

  it('refuses a line it cannot read instead of leaving it out', () => {
    expect(() => wranglerTable('alias', write('[alias]\n"a" = ["x"]\n'))).toThrow(/cannot read/)
  })

  it("reads the repository's wrangler.toml: the Azure SDK's Node builds and import.meta.url", () => {
    const aliases = wranglerAliases()
    expect(Object.keys(aliases).sort()).toEqual(['@azure/core-xml', '@azure/storage-blob', '@azure/storage-common'])
    for (const path of Object.values(aliases)) expect(path).toMatch(/^\/.*\/node_modules\/@azure\/[a-z-]+\/dist\/esm\/index\.js$/)
    expect(wranglerTable('define')).toEqual({ 'import.meta.url': '"file:///worker/index.js"' })
  })
})
