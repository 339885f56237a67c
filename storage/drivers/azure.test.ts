import { createServer, type Server, type Socket } from 'node:net'
import {
  AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, generateAccountSASQueryParameters, StorageSharedKeyCredential,
} from '@azure/storage-blob'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AZURITE_ACCOUNT, startAzurite, type RunningAzurite } from '../../test/helpers/azurite.ts'
import { testEngine } from '../conformance.ts'
import { createAzureEngine } from './azure.ts'

const MiB = 1024 * 1024

let azurite: RunningAzurite
beforeAll(async () => {
  azurite = await startAzurite({ containers: ['meridian', 'elsewhere'] })
})
afterAll(() => azurite?.stop())

testEngine('azure (azurite, connection string)', async () => ({
  engine: createAzureEngine({ location: 'test-azure', container: 'meridian', connectionString: azurite.connectionString }),
}))

// Several locations may share a container, each under its own prefix; small blocks and a small
// sync-copy limit send every put and copy through the multi-block paths.
testEngine('azure (azurite, account key, prefix, 1 MiB blocks)', async () => ({
  engine: createAzureEngine({
    location: 'test-azure-prefixed', container: 'meridian', prefix: 'eu-west',
    accountName: azurite.accountName, accountKey: azurite.accountKey, endpoint: azurite.blobEndpoint,
    blockSize: MiB, syncCopyLimit: 4, urlBlockSize: 3,
  }),
}))

// A SAS token instead of the key: presign answers null (the token must not reach clients), copy
// still works (the service reads the source with the token).
testEngine('azure (azurite, SAS token)', async () => {
  const sasToken = generateAccountSASQueryParameters({
    permissions: AccountSASPermissions.parse('rwdlac'),
    services: AccountSASServices.parse('b').toString(),
    resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
    expiresOn: new Date(Date.now() + 3600_000),
  }, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey)).toString()
  return { engine: createAzureEngine({ location: 'test-azure-sas', container: 'meridian', accountName: azurite.accountName, sasToken, endpoint: azurite.blobEndpoint }) }
})

const bytes = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff)
const streamOf = (data: Uint8Array<ArrayBuffer>) => new Blob([data]).stream()
async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer())
}
/** Byte equality that stays fast for megabytes (toEqual walks typed arrays element by element). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)

describe('azure engine', () => {
  const engine = () => createAzureEngine({ location: 'azure', container: 'meridian', connectionString: azurite.connectionString, blockSize: MiB })

  it('presigns a read-only URL: GET works, PUT is refused', async () => {
    await engine().put('presign/only-read', streamOf(bytes(100, 1)))
    const url = (await engine().presign('presign/only-read', { expiresIn: 60 }))!
    expect(new URL(url).searchParams.get('sp')).toBe('r')
    expect(same(new Uint8Array(await (await fetch(url)).arrayBuffer()), bytes(100, 1))).toBe(true)
    const write = await fetch(url, { method: 'PUT', body: 'evil', headers: { 'x-ms-blob-type': 'BlockBlob' } })
    expect(write.status).toBe(403)
    expect(same(await readAll((await engine().get('presign/only-read'))!.body), bytes(100, 1))).toBe(true)
  })

  it('lets concurrent puts of the same multi-block bytes all succeed', async () => {
    const data = bytes(3 * MiB + 5, 7)
    const results = await Promise.all([1, 2, 3].map(() => engine().put('race/same-bytes', streamOf(data))))
    expect(results.map((r) => r.size)).toEqual([data.byteLength, data.byteLength, data.byteLength])
    expect(same(await readAll((await engine().get('race/same-bytes'))!.body), data)).toBe(true)
  })

  it('ends concurrent multi-block puts of different bytes with one whole object, losers failing as conflicts', async () => {
    const bodies = [1, 2, 3].map((seed) => bytes(3 * MiB + 5, seed))
    const results = await Promise.allSettled(bodies.map((data) => engine().put('race/different-bytes', streamOf(data))))
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ name: 'StorageError', kind: 'conflict' })
    }
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true)
    const stored = await readAll((await engine().get('race/different-bytes'))!.body)
    expect(bodies.some((data) => same(stored, data))).toBe(true)
  })

  it('copies from another location by URL, or answers null where Put Block From URL is missing', async () => {
    const other = createAzureEngine({ location: 'other', container: 'elsewhere', connectionString: azurite.connectionString })
    const data = bytes(2 * MiB + 3, 9)
    await other.put('blobs/source', streamOf(data))
    const url = await other.presign('blobs/source')
    const target = createAzureEngine({ location: 'azure', container: 'meridian', connectionString: azurite.connectionString, urlBlockSize: MiB })
    // Azure stages 3 ranges and commits; azurite 3.35 answers Put Block From URL with 501.
    const copied = await target.copyFromUrl(url!, 'copied/from-url', data.byteLength)
    if (copied === null) {
      expect(await target.stat('copied/from-url')).toBeNull()
      return
    }
    expect(copied).toMatchObject({ key: 'copied/from-url', size: data.byteLength })
    expect(same(await readAll((await target.get('copied/from-url'))!.body), data)).toBe(true)
  })

  it('treats a missing container as the location failing, not as a missing blob', async () => {
    const lost = createAzureEngine({ location: 'lost', container: 'no-such-container', connectionString: azurite.connectionString })
    await expect(lost.stat('blobs/x')).rejects.toMatchObject({ name: 'StorageError', kind: 'unavailable', location: 'lost' })
    await expect(lost.get('blobs/x')).rejects.toMatchObject({ kind: 'unavailable' })
    await expect(lost.put('blobs/x', streamOf(bytes(10, 0)))).rejects.toMatchObject({ kind: 'unavailable' })
  })

  it('fails fast and typed when the location is down', async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const down = createAzureEngine({ location: 'down', container: 'meridian', ...AZURITE_ACCOUNT, endpoint: 'http://127.0.0.1:9/devstoreaccount1' })
    const started = Date.now()
    await expect(down.stat('blobs/x')).rejects.toMatchObject({ name: 'StorageError', kind: 'unavailable', location: 'down' })
    expect(Date.now() - started).toBeLessThan(5000)
  })

  describe('against a server that accepts connections and never answers', () => {
    let silent: Server
    const sockets = new Set<Socket>()
    beforeAll(async () => {
      silent = createServer((socket) => void sockets.add(socket))
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    })
    afterAll(async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    })

    it('gives up after its request timeout', async () => {
      const { port } = silent.address() as { port: number }
      const hung = createAzureEngine({ location: 'hung', container: 'meridian', ...AZURITE_ACCOUNT, endpoint: `http://127.0.0.1:${port}/devstoreaccount1`, requestTimeoutMs: 500, transferTimeoutMs: 500 })
      const started = Date.now()
      await expect(hung.stat('blobs/x')).rejects.toMatchObject({ kind: 'unavailable', location: 'hung' })
      await expect(hung.put('blobs/x', streamOf(bytes(10, 0)))).rejects.toMatchObject({ kind: 'unavailable' })
      expect(Date.now() - started).toBeLessThan(3000)
    })
  })

  it('keeps credentials out of error messages', async () => {
    const secret = 'c2VjcmV0IGtleSB0aGF0IGlzIHdyb25nIGFuZCBsb25nIGVub3VnaA=='
    const wrong = createAzureEngine({ location: 'wrong-key', container: 'meridian', accountName: azurite.accountName, accountKey: secret, endpoint: azurite.blobEndpoint })
    const failure = await wrong.put('blobs/x', streamOf(bytes(10, 0))).then(() => new Error('no failure'), (err: unknown) => err as Error)
    expect(failure).toMatchObject({ name: 'StorageError', kind: 'denied' })
    const text = `${failure.message} ${(failure.cause as Error).message} ${(failure.cause as Error).stack}`
    expect(text).not.toContain(secret)
  })
})
