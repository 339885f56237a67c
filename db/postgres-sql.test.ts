// numberPlaceholders turns drizzle's SQLite-dialect text (`?`) into PostgreSQL's ($1…$n). A `?`
// that is data (inside a string literal, a quoted identifier, a comment) must stay as written, and
// every real placeholder must get the number of its parameter, in order: one off and every value
// lands in the wrong column.

import { sql } from 'drizzle-orm'
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core'
import { describe, expect, it } from 'vitest'
import { numberPlaceholders } from './postgres-sql.ts'

describe('numberPlaceholders', () => {
  it('numbers placeholders left to right', () => {
    expect(numberPlaceholders('select * from "t" where "a" = ? and "b" in (?, ?) limit ?'))
      .toBe('select * from "t" where "a" = $1 and "b" in ($2, $3) limit $4')
  })

  it('leaves text without placeholders unchanged', () => {
    const text = 'select count(*) from "changes" where "seq" > 0'
    expect(numberPlaceholders(text)).toBe(text)
  })

  it('keeps a ? inside a string literal, including one with doubled (escaped) quotes', () => {
    expect(numberPlaceholders("select 'why?' where a = ?")).toBe("select 'why?' where a = $1")
    expect(numberPlaceholders("select 'it''s ? really' , ? , 'x'")).toBe("select 'it''s ? really' , $1 , 'x'")
    // An empty literal and a literal that is only an escaped quote.
    expect(numberPlaceholders("values ('', ?, '''', ?)")).toBe("values ('', $1, '''', $2)")
  })

  it('keeps a ? inside a quoted identifier, including one with doubled quotes', () => {
    expect(numberPlaceholders('select "what?" from "t" where "x" = ?')).toBe('select "what?" from "t" where "x" = $1')
    expect(numberPlaceholders('select "a""b?""c" , ? from "t"')).toBe('select "a""b?""c" , $1 from "t"')
  })

  it('does not let one kind of quote close the other', () => {
    expect(numberPlaceholders(`select '"?' , ? , "'?" , ?`)).toBe(`select '"?' , $1 , "'?" , $2`)
  })

  it('keeps a ? inside a -- comment, to the end of its line only', () => {
    expect(numberPlaceholders('select ? -- why? because\nfrom t where a = ?')).toBe('select $1 -- why? because\nfrom t where a = $2')
    expect(numberPlaceholders('select ? -- trailing? comment')).toBe('select $1 -- trailing? comment')
    // A lone minus is arithmetic, not a comment.
    expect(numberPlaceholders('select a - ? , ? -1')).toBe('select a - $1 , $2 -1')
  })

  // A `?` numbered inside a block comment would shift every later parameter by one.
  it('keeps a ? inside a /* block comment */', () => {
    expect(numberPlaceholders('select /* why? */ ? from t')).toBe('select /* why? */ $1 from t')
  })

  it('numbers many parameters (a long IN list) without skipping or repeating', () => {
    const n = 1500
    const text = `select * from "blobs" where "digest" in (${Array(n).fill('?').join(', ')})`
    const out = numberPlaceholders(text)
    const numbers = [...out.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]))
    expect(numbers).toEqual(Array.from({ length: n }, (_, i) => i + 1))
    expect(out).not.toContain('?')
  })

  it('leaves an unterminated literal as written (PostgreSQL reports the syntax error)', () => {
    expect(numberPlaceholders("select ? , 'open ?")).toBe("select $1 , 'open ?")
  })

  it('numbers exactly as many placeholders as drizzle passes parameters', () => {
    // Values are parameters, never inlined: text that looks like SQL in a value cannot shift them.
    const q = new SQLiteSyncDialect().sqlToQuery(sql`select ${"it's -- ?"} as "x?", ${42} where ${'/*'} <> ${'"?"'}`)
    const out = numberPlaceholders(q.sql)
    expect(q.params).toHaveLength(4)
    expect(out).toBe('select $1 as "x?", $2 where $3 <> $4')
  })
})
