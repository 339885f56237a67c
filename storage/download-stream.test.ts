import { describe, expect, it } from 'vitest'
import { downloadStream } from './download-stream.ts'

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  const out: number[] = []
  for await (const chunk of stream) out.push(...chunk)
  return out
}

describe('downloadStream', () => {
  it('passes the chunks on in order as plain Uint8Array views, then ends', async () => {
    const backing = new Uint8Array([0, 1, 2, 3, 4, 5])
    const stream = downloadStream(chunks(backing.subarray(0, 2), backing.subarray(2)), { location: 'l', key: 'k' })
    expect(await readAll(stream)).toEqual([0, 1, 2, 3, 4, 5])
  })

  it("fails with StorageError 'aborted' once the get's signal aborts, and ends the source", async () => {
    const controller = new AbortController()
    let ended = false
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) yield new Uint8Array(4)
      } finally {
        ended = true
      }
    }
    const reader = downloadStream(source(), { location: 'l', key: 'k', signal: controller.signal }).getReader()
    await reader.read()
    controller.abort()
    await expect(reader.read()).rejects.toMatchObject({ name: 'StorageError', kind: 'aborted', location: 'l' })
    expect(ended).toBe(true)
  })

  it('turns a source error into a StorageError, reshaped by normalizeError first', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1)
      throw Object.assign(new Error('backend error'), { code: 503 })
    }
    const withStatus = (err: unknown) => Object.assign(err as object, { statusCode: (err as { code: number }).code })
    const stream = downloadStream(broken(), { location: 'l', key: 'k', normalizeError: withStatus })
    await expect(readAll(stream)).rejects.toMatchObject({ name: 'StorageError', kind: 'unavailable', location: 'l' })
  })
})
