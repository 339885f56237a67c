// Requests the edge hands to the origin: every write (so one hostname works for pushes and pulls)
// and every read the region index cannot answer. Bodies stream through; upload `Location`s are
// made absolute on the origin's public URL, so the PATCH and PUT that carry layer bytes go to the
// origin directly and never cross the edge (Workers cap request bodies at 100–500 MB).

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']

export interface OriginClient {
  /** The origin's answer to this request (same method, path, query, headers and body). */
  forward(request: Request, peer: string | null): Promise<Response>
  /** A GET to the origin of `path` (e.g. a blob, as the last fallback), with the given headers; an
   * absolute URL (the origin's JWKS at another address) is fetched as it is. */
  get(path: string, headers: HeadersInit, signal?: AbortSignal): Promise<Response>
}

export function createOriginClient(options: {
  /** Where the edge reaches the origin. */
  url: string
  /** Where clients reach it (upload Locations point there); defaults to `url`. */
  publicUrl?: string
  fetch?: typeof fetch
}): OriginClient {
  const base = options.url.replace(/\/+$/, '')
  const publicBase = (options.publicUrl ?? options.url).replace(/\/+$/, '')
  const fetchFn = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))

  function absoluteLocation(res: Response): Response {
    const location = res.headers.get('location')
    if (!location || /^[a-z][a-z0-9+.-]*:/i.test(location)) return res
    const headers = new Headers(res.headers)
    headers.set('location', publicBase + (location.startsWith('/') ? location : `/${location}`))
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers })
  }

  return {
    async forward(request, peer) {
      const incoming = new URL(request.url)
      const headers = new Headers()
      for (const [k, v] of request.headers) if (!HOP_BY_HOP.includes(k)) headers.set(k, v)
      const length = request.headers.get('content-length')
      if (length !== null) headers.set('content-length', length)
      if (peer) headers.set('x-forwarded-for', [request.headers.get('x-forwarded-for'), peer].filter(Boolean).join(', '))
      const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null
      // A body is sent with redirect 'error': Node's fetch keeps every byte of a streamed body
      // while a redirect may still replay it (+280 MiB for a 256 MiB PUT, measured); the origin
      // never redirects a write. Reads keep 'manual', so a redirect reaches the client as is.
      const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers, redirect: hasBody ? 'error' : 'manual', body: hasBody ? request.body : null }
      if (hasBody) init.duplex = 'half'
      return absoluteLocation(await fetchFn(base + incoming.pathname + incoming.search, init))
    },
    async get(path, headers, signal) {
      return fetchFn(/^https?:\/\//i.test(path) ? path : base + path, { headers, redirect: 'manual', ...(signal ? { signal } : {}) })
    },
  }
}
