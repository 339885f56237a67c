import { describe, expect, it } from 'vitest'
import { replayableBody } from './replayable-body.ts'

function source(chunks: number[], onCancel: () => void = () => {}): ReadableStream<Uint8Array> {
  const queue = chunks.map((n, i) => new Uint8Array(n).fill(i))
  return new ReadableStream({ pull: (c) => { const next = queue.shift(); if (next) c.enqueue(next); else c.close() }, cancel: onCancel }, { highWaterMark: 0 })
}

async function readSome(stream: ReadableStream<Uint8Array>, chunks: number): Promise<number[]> {
  const reader = stream.getReader()
  const sizes: number[] = []
  for (let i = 0; i < chunks; i++) {
    const { done, value } = await reader.read()
    if (done) break
    sizes.push(value.byteLength)
  }
  await reader.cancel('attempt failed')
  return sizes
}

describe('a request body a failed write can hand on', () => {
  it('gives the next attempt what the failed one read, then the rest, without cancelling the source', async () => {
    let cancelled = false
    const body = replayableBody(source([10, 20, 30], () => { cancelled = true }), 100)
    expect(await readSome(body.attempt()!, 2)).toEqual([10, 20])
    expect(cancelled).toBe(false)
    expect(await readSome(body.attempt()!, 10)).toEqual([10, 20, 30])
  })

  it('offers no further attempt once more than its limit was read, and keeps nothing', async () => {
    const body = replayableBody(source([60, 60, 60]), 100)
    expect(await readSome(body.attempt()!, 2)).toEqual([60, 60])
    expect(body.attempt()).toBeNull()
  })

  it('an attempt that passes the limit still gets every byte', async () => {
    const body = replayableBody(source([60, 60, 60]), 100)
    expect(await readSome(body.attempt()!, 10)).toEqual([60, 60, 60])
  })

  it('abandon cancels the source', async () => {
    let cancelled = false
    const body = replayableBody(source([10], () => { cancelled = true }))
    await body.abandon('done')
    expect(cancelled).toBe(true)
  })
})
