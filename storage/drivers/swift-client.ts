// The swift driver's one way to call the object store (storage/drivers/swift.ts): the token and
// storage URL of the session, a time bound on the answer's headers, one retry with a new token
// after a 401 when the request can be replayed, and HTTP statuses as StorageError. Portable.

import { StorageError } from '../engine.ts'
import type { StorageErrorKind } from '../engine.ts'
import { redact, toStorageError } from '../errors.ts'
import type { SwiftSession } from './swift-auth.ts'

export interface SwiftRequest {
  headers?: Record<string, string>
  /** `?k=v` pairs, encoded here. */
  query?: Record<string, string | undefined>
  /** A stream is sent chunked and cannot be replayed after a 401. */
  body?: ReadableStream<Uint8Array> | Uint8Array | string
  signal?: AbortSignal
  /** Overrides the client's bound on waiting for the answer's headers. */
  timeoutMs?: number
}

export interface SwiftClient {
  readonly location: string
  /** `/<container>/<object>`, each encoded, for URLs and `X-Copy-From`. */
  path(container: string, object?: string): string
  /** The answer, whatever its status; network failures and timeouts throw StorageError. */
  request(method: string, path: string, doing: string, init?: SwiftRequest): Promise<Response>
  /** The StorageError for an unexpected answer (its body is discarded, never quoted). */
  fail(res: Response, doing: string): Promise<StorageError>
  /** The account's storage URL (logs in if needed). */
  storageUrl(): Promise<string>
  /** A request to a URL that carries its own authorisation (a temp URL): no token. */
  fetchSigned(url: string, method: string, doing: string, init?: SwiftRequest): Promise<Response>
  readonly secrets: readonly string[]
}

export function createSwiftClient(options: { location: string; session: SwiftSession; fetch: typeof fetch; timeoutMs: number }): SwiftClient {
  const { location, session, fetch, timeoutMs } = options
  const encode = (name: string) => name.split('/').map(encodeURIComponent).join('/')

  async function once(method: string, path: string, doing: string, init: SwiftRequest): Promise<{ res: Response; token: string }> {
    const { token, storageUrl } = await session.current()
    const query = Object.entries(init.query ?? {}).filter(([, v]) => v !== undefined)
    const url = `${storageUrl}${path}${query.length ? `?${new URLSearchParams(query as [string, string][])}` : ''}`
    return { res: await send(url, method, doing, init, { 'X-Auth-Token': token }), token }
  }

  async function send(url: string, method: string, doing: string, init: SwiftRequest, auth: Record<string, string>): Promise<Response> {
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, init.timeoutMs ?? timeoutMs)
    const forward = () => controller.abort(init.signal?.reason)
    if (init.signal?.aborted) forward()
    init.signal?.addEventListener('abort', forward, { once: true })
    try {
      const streamed = init.body instanceof ReadableStream
      return await fetch(url, {
        method,
        headers: { ...init.headers, ...auth },
        body: init.body,
        signal: controller.signal,
        // Node's fetch needs `duplex` for a stream body (other runtimes ignore it). `redirect:
        // 'error'`: with 'follow' or 'manual', Node's fetch (undici 6) tees the body to replay it
        // on a redirect and may hold every byte of a multi-GiB upload in the unread branch.
        ...(streamed ? { duplex: 'half', redirect: 'error' } : {}),
      } as RequestInit)
    } catch (err) {
      init.signal?.removeEventListener('abort', forward)
      if (timedOut) throw new StorageError('unavailable', location, `${location}: ${doing}: no answer within ${init.timeoutMs ?? timeoutMs} ms`)
      if (init.signal?.aborted) throw new StorageError('aborted', location, `${location}: ${doing}: aborted`, { cause: init.signal.reason })
      // A body's own failure is told apart by the caller (storage/body-reader.ts); the rest are ours.
      if (init.body instanceof ReadableStream) throw err
      throw toStorageError(err, location, doing, session.secrets)
    } finally {
      // The bound covers the headers only: a body may take as long as it takes, and the caller's
      // signal (still listened to) cancels it.
      clearTimeout(timer)
    }
  }

  return {
    location,
    secrets: session.secrets,
    path: (container, object) => `/${encodeURIComponent(container)}${object === undefined ? '' : `/${encode(object)}`}`,
    async request(method, path, doing, init = {}) {
      const first = await once(method, path, doing, init)
      if (first.res.status !== 401) return first.res
      await first.res.body?.cancel()
      session.invalidate(first.token)
      // A stream was consumed by the first try: the caller (replication) retries the whole put.
      if (init.body instanceof ReadableStream) throw new StorageError('unavailable', location, `${location}: ${doing}: token refused (expired or revoked); retry`)
      return (await once(method, path, doing, init)).res
    },
    async fail(res, doing) {
      await res.body?.cancel().catch(() => {})
      return statusError(res.status, location, redact(doing, session.secrets))
    },
    storageUrl: async () => (await session.current()).storageUrl,
    fetchSigned: (url, method, doing, init = {}) => send(url, method, doing, init, {}),
  }
}

export function statusError(status: number, location: string, doing: string): StorageError {
  return new StorageError(kindOfStatus(status), location, `${location}: ${doing}: HTTP ${status}`)
}

function kindOfStatus(status: number): StorageErrorKind {
  if (status === 401 || status === 403) return 'denied'
  // A missing container is the location's misconfiguration: down until an operator fixes it.
  if (status === 404 || status === 408 || status === 429 || status === 499 || status >= 500) return 'unavailable'
  if (status === 409 || status === 412) return 'conflict'
  return 'invalid'
}
