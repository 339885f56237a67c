// Hono's default router, with the last few hundred (method, path) matches remembered. The registry's
// routes take regex parameters (`/v2/:name{.+}/manifests/:reference`, STYLE §5), which Hono's
// RegExpRouter refuses, so the default SmartRouter falls back to its TrieRouter, whose search
// tries every pattern on every request: ~8 % of a manifest read's CPU in app.fetch. Pulls repeat
// the same few paths (a tag's manifest, then its blobs), so the match of a path is looked up, not
// searched for. A match result is read-only to Hono (request.js only reads params), so sharing one
// between requests is safe. Bounded: the map is emptied whenever it reaches `size` entries.

import type { Result, Router } from 'hono/router'
import { SmartRouter } from 'hono/router/smart-router'
import { RegExpRouter } from 'hono/router/reg-exp-router'
import { TrieRouter } from 'hono/router/trie-router'

export function createMatchCachingRouter<T>(size = 512): Router<T> {
  const inner = new SmartRouter<T>({ routers: [new RegExpRouter(), new TrieRouter()] })
  const matches = new Map<string, Result<T>>()
  return {
    name: `${inner.name} + match cache`,
    add(method, path, handler) {
      matches.clear()
      inner.add(method, path, handler)
    },
    match(method, path) {
      const key = `${method} ${path}`
      let result = matches.get(key)
      if (result === undefined) {
        result = inner.match(method, path)
        if (matches.size >= size) matches.clear()
        matches.set(key, result)
      }
      return result
    },
  }
}
