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

  it('an attempt superseded while its read was pending takes nothing from the newest one', async () => {
    // The first attempt's put failed with a read still pending (its pipe had not seen the error).
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    let sent = 0
    const slow = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent === 1) await gate
        if (sent < 4) c.enqueue(new Uint8Array(60).fill(sent++))
        else c.close()
      },
    }, { highWaterMark: 0 })
    const body = replayableBody(slow, 100)
    const stale = body.attempt()!.getReader()
    expect((await stale.read()).value?.byteLength).toBe(60)
    const pending = stale.read().then(() => null, (err: unknown) => err)
    const whole = new Response(body.attempt()).arrayBuffer()
    await new Promise((resolve) => setTimeout(resolve, 10))
    release()
    // The landing chunk passes the limit; every byte still reaches the newest attempt.
    expect(new Uint8Array(await whole)).toEqual(Uint8Array.from({ length: 240 }, (_, i) => Math.floor(i / 60)))
    expect(await pending).toMatchObject({ message: expect.stringMatching(/newer write attempt/) })
  })

  it('an older attempt that reads on after a newer one started fails rather than ending early', async () => {
    const body = replayableBody(source([10, 20, 30]), 100)
    const older = body.attempt()!.getReader()
    await older.read()
    body.attempt()
    await expect(older.read()).rejects.toThrow(/newer write attempt/)
  })

  it('abandon cancels the source', async () => {
    let cancelled = false
    const body = replayableBody(source([10], () => { cancelled = true }))
    await body.abandon('done')
    expect(cancelled).toBe(true)
  })
})
