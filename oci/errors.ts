// The one error vocabulary (ARCHITECTURE §4.5). Handlers throw OciError; renderError writes the
// distribution-spec JSON body: {"errors":[{"code","message","detail"}]}.

/** Spec error codes (distribution-spec "Error Codes") plus the two 5xx codes we use. */
export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 415, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  // Not in the spec's table, but the spec requires 416 for out-of-order chunks and unsatisfiable
  // ranges; distribution/distribution uses these names.
  RANGE_INVALID: { status: 416, message: 'requested range not satisfiable' },
  // distribution/distribution's code for a bad `n` on tags/list and _catalog.
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  // An unknown endpoint (distribution answers a bare 404; we keep the JSON shape).
  NOT_FOUND: { status: 404, message: 'no such endpoint' },
  // A request Node's HTTP parser refused before any route saw it (a bad target, oversized headers
  // as 431, malformed chunked encoding), and a request head not received in time.
  REQUEST_INVALID: { status: 400, message: 'malformed HTTP request' },
  REQUEST_TIMEOUT: { status: 408, message: 'request not received in time' },
  UNKNOWN: { status: 500, message: 'unknown error' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export interface OciErrorOptions {
  message?: string
  detail?: unknown
  /** Overrides the code's default status (e.g. UNSUPPORTED as 405 for a disabled DELETE). */
  status?: number
  headers?: Record<string, string>
  cause?: unknown
}

export class OciError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly detail: unknown
  readonly headers: Record<string, string>
  constructor(code: ErrorCode, options: OciErrorOptions = {}) {
    super(options.message ?? ERROR_CODES[code].message, { cause: options.cause })
    this.name = 'OciError'
    this.code = code
    this.status = options.status ?? ERROR_CODES[code].status
    this.detail = options.detail ?? null
    this.headers = options.headers ?? {}
  }
}

export function ociError(code: ErrorCode, options: OciErrorOptions = {}): OciError {
  return new OciError(code, options)
}

export function isOciError(err: unknown): err is OciError {
  return err instanceof OciError
}

/**
 * Renders any thrown value as a spec error response. Unexpected errors become UNKNOWN with a
 * generic message: their text may hold paths or credentials, so it is only logged by the caller.
 */
export function renderError(err: unknown, method = 'GET'): Response {
  const e = isOciError(err) ? err : new OciError('UNKNOWN')
  const headers = new Headers({ 'Content-Type': 'application/json; charset=utf-8', ...e.headers })
  // HEAD responses carry no body (RFC 9110 §9.3.2), only the status and headers.
  if (method === 'HEAD') return new Response(null, { status: e.status, headers })
  return new Response(errorBody(e), { status: e.status, headers })
}

/** The spec's JSON error body for `err`; renderError and the origin's raw-socket answers share it. */
export function errorBody(err: OciError): string {
  return JSON.stringify({ errors: [{ code: err.code, message: err.message, detail: err.detail }] })
}
