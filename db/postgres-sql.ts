// drizzle writes Meridian's SQL once, with its SQLite dialect (`?` placeholders, double-quoted
// identifiers, standard SQL otherwise); PostgreSQL numbers its placeholders. This rewrites `?` to
// `$1…$n` outside string literals, quoted identifiers and comments. Everything else in the text
// is already valid PostgreSQL: the few engine-specific fragments are chosen in db/queries by
// dialect (db/dialect-sql.ts).

/** PostgreSQL text for drizzle's SQLite-dialect `text`. */
export function toPostgres(text: string): string {
  return unqualifyConflictTarget(numberPlaceholders(text))
}

/**
 * drizzle's SQLite dialect qualifies the columns of an upsert's conflict target
 * (`on conflict ("t"."a", "t"."b")`); PostgreSQL takes bare column names there.
 */
export function unqualifyConflictTarget(text: string): string {
  return text.replace(/on conflict \(([^)]*)\)/g, (_, cols: string) => `on conflict (${cols.replace(/"(?:[^"]|"")+"\./g, '')})`)
}

export function numberPlaceholders(text: string): string {
  let out = ''
  let n = 0
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (c === "'" || c === '"') {
      const end = closingQuote(text, i, c)
      out += text.slice(i, end)
      i = end
    } else if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i)
      const stop = end === -1 ? text.length : end
      out += text.slice(i, stop)
      i = stop
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end === -1 ? text.length : end + 2
      out += text.slice(i, stop)
      i = stop
    } else if (c === '?') {
      out += `$${++n}`
      i++
    } else {
      out += c
      i++
    }
  }
  return out
}

/** Index just past the quote closing the one at `start` (a doubled quote is an escaped one). */
function closingQuote(text: string, start: number, quote: string): number {
  let i = start + 1
  while (i < text.length) {
    if (text[i] === quote) {
      if (text[i + 1] === quote) { i += 2; continue }
      return i + 1
    }
    i++
  }
  return text.length
}
