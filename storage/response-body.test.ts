import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bodyOf } from './response-body.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const SIZE = 1024 * 1024

async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    gc()
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function sizeOf(body: ReadableStream<Uint8Array>): Promise<number> {
  let size = 0
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) size += chunk.byteLength
  return size
}

describe('a fetch body handed on without its Response', () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(SIZE) })
    res.end(Buffer.alloc(SIZE, 7))
  })
  let url: string
  beforeAll(async () => {
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('reads as empty once the Response is collected (what undici does), unless bodyOf kept it', async () => {
    const bare = (await fetch(url)).body!
    const kept = bodyOf(await fetch(url))
    await collectGarbage()
    // The hazard this guards against: no error, just nothing.
    expect(await sizeOf(bare)).toBe(0)
    expect(await sizeOf(kept)).toBe(SIZE)
  })
})
