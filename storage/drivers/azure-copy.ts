// Server-side copies for the azure driver (storage/drivers/azure.ts): within the container, from
// another location's URL, and by URL for replication. The bytes never pass through this process:
// Azure fetches them itself. Portable.

import type { BlockBlobClient } from '@azure/storage-blob'
import type { ObjectInfo, StorageError } from '../engine.ts'
import type { AzureEngine } from './azure.ts'
import { isBlobMissing, statusOf, type Timed } from './azure-client.ts'

const URL_BLOCK_CONCURRENCY = 4

/** What the copies need of the engine that owns them. */
export interface AzureCopyContext {
  blob: (key: string) => BlockBlobClient
  timed: Timed
  fail: (err: unknown, doing: string) => StorageError
  /** Properties of a blob, or null when it does not exist. */
  properties: (key: string) => Promise<ObjectInfo | null>
  /** A read-only URL of the blob for the next `seconds`, or null without the shared key. */
  readUrl: (client: BlockBlobClient, seconds: number) => string | null
  requestTimeoutMs: number
  transferTimeoutMs: number
  syncCopyLimit: number
  urlBlockSize: number
}

/** The engine's copy, copySource, copyFrom and copyFromUrl. */
export function createAzureCopy(context: AzureCopyContext): Pick<AzureEngine, 'copy' | 'copySource' | 'copyFrom' | 'copyFromUrl'> {
  const { blob, timed, fail, properties, readUrl, requestTimeoutMs, transferTimeoutMs, syncCopyLimit, urlBlockSize } = context

  /**
   * Server-side: Put Block From URL for every range of `url`, then one atomic commit; null when
   * the service does not implement Put Block From URL (azurite answers 501).
   */
  async function stageFromUrl(url: string, key: string, size: number): Promise<ObjectInfo | null> {
    const client = blob(key)
    const doing = `copy into ${key}`
    try {
      return await stageRanges(client, url, key, size, doing)
    } catch (err) {
      if (statusOf(err) === 501) return null
      throw fail(err, doing)
    }
  }

  /**
   * Azure's asynchronous Copy Blob, polled until it ends. Used only where Put Block From URL is
   * missing: Azure does not promise that a reader sees no partial destination while it runs.
   */
  async function copyAsync(url: string, key: string, size: number, doing: string): Promise<ObjectInfo> {
    const client = blob(key)
    const ms = transferTimeoutMs * Math.max(1, Math.ceil(size / syncCopyLimit))
    let copyId: string | undefined
    try {
      const res = await timed(ms, doing, undefined, async (abortSignal) => {
        const poller = await client.beginCopyFromURL(url, { abortSignal, intervalInMs: 500 })
        copyId = (poller.getOperationState() as { copyId?: string }).copyId
        return poller.pollUntilDone()
      })
      return { key, size, modified: res.lastModified }
    } catch (err) {
      // Best effort: a copy left pending would keep writing into the destination.
      if (copyId) await client.abortCopyFromURL(copyId).catch(() => {})
      throw err
    }
  }

  async function stageRanges(client: BlockBlobClient, url: string, key: string, size: number, doing: string): Promise<ObjectInfo> {
    if (size === 0) {
      const res = await timed(requestTimeoutMs, doing, undefined, (abortSignal) => client.upload(new Uint8Array(0), 0, { abortSignal }))
      return { key, size, modified: res.lastModified }
    }
    // A fresh id per call: unrelated to the bytes, since we never see them.
    const run = crypto.randomUUID()
    const ids = Array.from({ length: Math.ceil(size / urlBlockSize) }, (_, i) => btoa(`${run}-${String(i).padStart(6, '0')}`))
    let next = 0
    const worker = async () => {
      for (let i = next++; i < ids.length; i = next++) {
        const offset = i * urlBlockSize
        const count = Math.min(urlBlockSize, size - offset)
        await timed(transferTimeoutMs, doing, undefined, (abortSignal) => client.stageBlockFromURL(ids[i]!, url, offset, count, { abortSignal }))
      }
    }
    await Promise.all(Array.from({ length: Math.min(URL_BLOCK_CONCURRENCY, ids.length) }, worker))
    const res = await timed(transferTimeoutMs, doing, undefined, (abortSignal) => client.commitBlockList(ids, { abortSignal }))
    return { key, size, modified: res.lastModified }
  }

  /**
   * A URL Azure can fetch `key` from: our own SAS, or the configured one (server to server, never
   * shown to a client). Null without either.
   */
  function sourceUrl(key: string): string | null {
    const source = blob(key)
    return readUrl(source, 3600) ?? (/[?&]sig=/.test(source.url) ? source.url : null)
  }

  /** Server-side copy from a URL: one synchronous copy when small, staged blocks when large. */
  async function copyFromReadableUrl(url: string, toKey: string, size: number, doing: string): Promise<ObjectInfo | null> {
    if (size > syncCopyLimit) return await stageFromUrl(url, toKey, size) ?? await copyAsync(url, toKey, size, doing)
    const target = blob(toKey)
    const res = await timed(transferTimeoutMs, doing, undefined, (abortSignal) => target.syncCopyFromURL(url, { abortSignal }))
    return { key: toKey, size, modified: res.lastModified }
  }

  return {
    async copy(fromKey, toKey) {
      const found = await properties(fromKey)
      if (!found) return null
      if (fromKey === toKey) return found
      const url = sourceUrl(fromKey)
      if (!url) return null
      const doing = `copy ${fromKey} to ${toKey}`
      try {
        return await copyFromReadableUrl(url, toKey, found.size, doing)
      } catch (err) {
        // Deleted between our stat and the copy.
        if (isBlobMissing(err) && (await properties(fromKey)) === null) return null
        throw fail(err, doing)
      }
    },

    async copySource(key) {
      if (!(await properties(key))) return null
      const url = sourceUrl(key)
      return url ? { kind: 'url', url } : null
    },

    // From another location by URL (another Azure account's SAS): Azure fetches it itself.
    async copyFrom(source, key, size) {
      if (source.kind !== 'url') return null
      const doing = `copy ${key} from another location`
      try {
        return await copyFromReadableUrl(source.url, key, size, doing)
      } catch (err) {
        if (isBlobMissing(err)) return null
        throw fail(err, doing)
      }
    },

    copyFromUrl: (url, key, size) => stageFromUrl(url, key, size),
  }
}
