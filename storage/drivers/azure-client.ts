// How the azure driver talks to the service (storage/drivers/azure.ts): the client its options
// describe, a time bound on every call, and what an SDK error says. Portable.

import { AnonymousCredential, BlobServiceClient, newPipeline, StorageSharedKeyCredential } from '@azure/storage-blob'
import type { StoragePipelineOptions } from '@azure/storage-blob'
import { StorageError } from '../engine.ts'
import type { AzureEngineOptions } from './azure.ts'

export function serviceClient(options: AzureEngineOptions): BlobServiceClient {
  // Retries are for blips; a location that is down must fail in seconds (its health is tracked
  // by the caller). The `timed` wrapper bounds the whole call, retries included.
  const pipeline: StoragePipelineOptions = { retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000 } }
  // The SDK reads account-key connection strings only where it believes it runs on Node (its
  // isNodeLike, false inside workerd even with nodejs_compat): those are taken apart here, so an
  // edge on Workers reads the same setting. Any other form is left to the SDK.
  const parts = options.connectionString ? accountKeyParts(options.connectionString) : null
  if (options.connectionString && !parts) {
    // A SAS form (its URL carries the token) gets the same pipeline as a sasToken; development
    // storage (an account key the SDK knows, Node only) stays as the SDK built it.
    const client = BlobServiceClient.fromConnectionString(options.connectionString, pipeline)
    if (!(client.credential instanceof AnonymousCredential)) return client
    return new StreamingServiceClient(client.url, newPipeline(new AnonymousCredential(), pipeline)).streamBodies()
  }
  const { accountName, accountKey, sasToken } = parts ?? options
  if (!accountName) throw new StorageError('invalid', options.location, `${options.location}: azure needs connectionString or accountName`)
  const endpoint = (parts?.endpoint ?? options.endpoint ?? `https://${accountName}.blob.core.windows.net`).replace(/\/+$/, '')
  // Handed a credential, the client constructors keep a StorageSharedKeyCredential only where the
  // SDK believes it runs on Node (elsewhere they silently swap in AnonymousCredential: unsigned
  // requests, 403 from Azure). A pipeline built by newPipeline keeps it everywhere, and signing
  // itself (storage-common's Node build, node:crypto's HMAC) runs under workerd's nodejs_compat.
  if (accountKey) return new StreamingServiceClient(endpoint, newPipeline(new StorageSharedKeyCredential(accountName, accountKey), pipeline)).streamBodies()
  if (sasToken) return new StreamingServiceClient(`${endpoint}?${sasToken.replace(/^\?/, '')}`, newPipeline(new AnonymousCredential(), pipeline)).streamBodies()
  throw new StorageError('invalid', options.location, `${options.location}: azure needs accountKey or sasToken with accountName`)
}

/**
 * Where the SDK sends requests with its fetch-based client (workerd: the core packages resolve to
 * their browser builds), a download's body comes as `blobBody`, read whole into memory
 * (Response.blob()) before its first byte goes on: a large layer would overrun a Worker's memory.
 * streamBodies() asks that client for the body as a stream (the pipeline's enableBrowserStreams)
 * and hands it on as `readableStreamBody`, where the SDK puts its Node stream and where the driver
 * reads a body from (an async-iterable either way). The Node client never sets browserStreamBody:
 * there it changes nothing. Every container and blob client of this service shares the pipeline.
 */
class StreamingServiceClient extends BlobServiceClient {
  streamBodies(): this {
    this.storageClientContext.pipeline.addPolicy({
      name: 'meridianStreamBodies',
      async sendRequest(request, next) {
        request.enableBrowserStreams = true
        const response = await next(request)
        if (response.browserStreamBody) {
          response.readableStreamBody = response.browserStreamBody as unknown as typeof response.readableStreamBody
          response.browserStreamBody = undefined
        }
        return response
      },
    }, { afterPhase: 'Sign' })
    return this
  }
}

/**
 * An account-key connection string's account, key and blob endpoint (`BlobEndpoint`, or built from
 * `DefaultEndpointsProtocol` and `EndpointSuffix`); null for any other form (SAS, development storage).
 */
export function accountKeyParts(connectionString: string): { accountName: string; accountKey: string; endpoint: string; sasToken?: undefined } | null {
  const fields = new Map<string, string>()
  for (const part of connectionString.split(';')) {
    const at = part.indexOf('=')
    if (at > 0) fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim())
  }
  const accountName = fields.get('accountname')
  const accountKey = fields.get('accountkey')
  if (!accountName || !accountKey) return null
  const endpoint = fields.get('blobendpoint')
    ?? `${fields.get('defaultendpointsprotocol') ?? 'https'}://${accountName}.blob.${fields.get('endpointsuffix') ?? 'core.windows.net'}`
  return { accountName, accountKey, endpoint }
}

/** The secret parts of a connection string, to scrub from messages. */
export function secretsOf(connectionString: string | undefined): string[] {
  if (!connectionString) return []
  return [...connectionString.matchAll(/(?:AccountKey|SharedAccessSignature)=([^;]+)/gi)].map((m) => m[1]!)
}

export type Timed = <T>(ms: number, doing: string, outer: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>) => Promise<T>

/**
 * The `timed` of a location: runs `call` with a signal that fires after `ms` or with `outer`. The
 * SDK itself only times out server-side, so without this a blackholed endpoint would hang for the
 * OS's minutes. A timeout becomes StorageError('unavailable'); other errors pass unchanged for the
 * caller.
 */
export function timedCalls(location: string): Timed {
  return async function timed<T>(ms: number, doing: string, outer: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, ms)
    const forward = () => controller.abort(outer?.reason)
    if (outer?.aborted) forward()
    outer?.addEventListener('abort', forward, { once: true })
    try {
      return await call(controller.signal)
    } catch (err) {
      if (timedOut) throw new StorageError('unavailable', location, `${location}: ${doing}: no answer within ${ms} ms`)
      throw err
    } finally {
      clearTimeout(timer)
      outer?.removeEventListener('abort', forward)
    }
  }
}

/** Azure's error code; answers to HEAD carry it only in a header, which the SDK puts in details. */
export function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; details?: { errorCode?: unknown } } | null
  const code = e?.code ?? e?.details?.errorCode
  return typeof code === 'string' ? code : undefined
}

export function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode
  return typeof status === 'number' ? status : undefined
}

/** 404 for the blob; not for its container, which is the location's misconfiguration. */
export function isBlobMissing(err: unknown): boolean {
  return statusOf(err) === 404 && codeOf(err) !== 'ContainerNotFound'
}
