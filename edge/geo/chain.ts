// The ordered chain of locators an edge is configured with (issue 8 §3): the first that answers
// wins. A locator that throws (a corrupt database, a bug) must not fail the pull: the request is
// served from a less precise position instead, and the error is reported.

import type { Locate, LocateInput, Position } from './locate.ts'

export interface ChainOptions {
  /** Called with each error a locator throws, and its index in the chain; the chain goes on. */
  onError?: (error: unknown, index: number) => void
}

export function locateChain(locators: readonly Locate[], { onError }: ChainOptions = {}): Locate {
  const chain = [...locators]
  return async function locateByChain(input: LocateInput): Promise<Position | null> {
    for (const [index, locate] of chain.entries()) {
      try {
        const position = await locate(input)
        if (position) return position
      } catch (error) {
        onError?.(error, index)
      }
    }
    return null
  }
}
