// distribution-spec pagination of tag lists and the catalog: `n` (count), `last` (exclusive
// start), and a `Link` header to the next page.

import { ociError } from '../errors.ts'
import type { PageRequest } from './read-model.ts'

export const MAX_PAGE = 10_000

/** `n` and `last` from the query; `n` is capped at `max`. */
export function pageOf(query: (name: string) => string | undefined, max = MAX_PAGE): PageRequest {
  const raw = query('n')
  let n = max
  if (raw !== undefined) {
    if (!/^\d+$/.test(raw)) throw ociError('PAGINATION_NUMBER_INVALID', { detail: { n: raw } })
    n = Math.min(Number(raw), max)
  }
  return { n, last: query('last') ?? null }
}

/** The `Link` header for the next page (distribution-spec "Listing Tags"). */
export function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`
}

/**
 * One page of names: asks the model for n + 1 to learn whether there is a next page, and returns
 * the page and the Link header (or null).
 */
export async function readPage(path: string, page: PageRequest, read: (p: PageRequest) => Promise<string[]>): Promise<{ names: string[]; link: string | null }> {
  if (page.n === 0) return { names: [], link: null }
  const names = await read({ n: page.n + 1, last: page.last })
  if (names.length <= page.n) return { names, link: null }
  const shown = names.slice(0, page.n)
  return { names: shown, link: nextLink(path, page.n, shown[shown.length - 1]!) }
}
