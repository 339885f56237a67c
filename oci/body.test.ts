import { describe, expect, it } from 'vitest'
import { readBounded } from './body.ts'
import { isOciError, ociError } from './errors.ts'

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill)

/** A body of `chunks`, recording how many were pulled and whether it was cancelled. */
function body(chunks: Uint8Array[], options: { endless?: boolean } = {}) {
  const seen = { pulled: 0, cancelled: false }
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift()
      if (next) {
        seen.pulled++
        controller.enqueue(next)
      } else if (!options.endless) {
        controller.close()
      }
    },
    cancel() { seen.cancelled = true },
  })
  return { stream, seen }
}

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure') }, (err: unknown) => {
  if (!isOciError(err)) throw err
  return { code: err.code, status: err.status, connection: err.headers.Connection }
})

describe('readBounded', () => {
  it('joins a body within the limit', async () => {
    expect(await readBounded(body([bytes(3), bytes(2)]).stream, 5)).toEqual(bytes(5))
  })

  it('cancels a body past the limit and answers 413 that closes the connection', async () => {
    const { stream, seen } = body([bytes(4), bytes(4), bytes(4)])
    expect(await failure(readBounded(stream, 5))).toEqual({ code: 'MANIFEST_INVALID', status: 413, connection: 'close' })
    expect(seen).toEqual({ pulled: 2, cancelled: true })
  })

  it('reads a body refused by inspect to its end before throwing, so the connection stays usable', async () => {
    const { stream, seen } = body([bytes(2, 9), bytes(2), bytes(2)])
    const refused = readBounded(stream, 10, { inspect: (chunk) => { if (chunk[0] === 9) throw ociError('MANIFEST_INVALID') } })
    expect(await failure(refused)).toEqual({ code: 'MANIFEST_INVALID', status: 400, connection: undefined })
    expect(seen).toEqual({ pulled: 3, cancelled: false })
  })

  it('gives up on a body that does not arrive within timeoutMs with 408', async () => {
    const { stream, seen } = body([bytes(1)], { endless: true })
    expect(await failure(readBounded(stream, 10, { timeoutMs: 50 }))).toEqual({ code: 'REQUEST_TIMEOUT', status: 408, connection: 'close' })
    expect(seen.cancelled).toBe(true)
  })

  it('holds memory before each read: what is kept plus the read ahead, capped by the declared length', async () => {
    const holds: number[] = []
    const read = await readBounded(body([bytes(4), bytes(4), bytes(2)]).stream, 100, { expectedBytes: 10, readAheadBytes: 4, hold: async (n) => { holds.push(n) } })
    expect(read).toEqual(bytes(10))
    // Before each read, and after each chunk (a no-op when the chunk fit what was held).
    expect(holds).toEqual([4, 4, 8, 8, 10, 10, 10])
  })

  it('holds the true total when a chunk is larger than the read ahead', async () => {
    const holds: number[] = []
    await readBounded(body([bytes(9)]).stream, 100, { readAheadBytes: 4, hold: async (n) => { holds.push(n) } })
    expect(holds).toEqual([4, 9, 13])
  })

  it('drops what it kept when hold refuses, reads the rest without holding, then throws', async () => {
    const holds: number[] = []
    const { stream, seen } = body([bytes(4), bytes(4), bytes(4)])
    const busy = ociError('UNAVAILABLE')
    const refused = readBounded(stream, 100, { readAheadBytes: 4, hold: async (n) => { holds.push(n); if (n > 4) throw busy } })
    expect(await failure(refused)).toEqual({ code: 'UNAVAILABLE', status: 503, connection: undefined })
    expect(holds).toEqual([4, 4, 8])
    expect(seen).toEqual({ pulled: 3, cancelled: false })
  })

  it('keeps nothing, and holds nothing, of a body declared over the limit, and answers 413', async () => {
    const holds: number[] = []
    const { stream, seen } = body([bytes(4), bytes(4), bytes(4)])
    expect(await failure(readBounded(stream, 10, { expectedBytes: 12, hold: async (n) => { holds.push(n) } }))).toEqual({ code: 'MANIFEST_INVALID', status: 413, connection: 'close' })
    expect(holds).toEqual([])
    expect(seen).toEqual({ pulled: 3, cancelled: true })
  })

  it('stops holding once inspect refuses: the rest is dropped, not kept', async () => {
    const holds: number[] = []
    const { stream } = body([bytes(2, 9), bytes(2), bytes(2)])
    const refused = readBounded(stream, 10, { readAheadBytes: 2, inspect: (chunk) => { if (chunk[0] === 9) throw ociError('MANIFEST_INVALID') }, hold: async (n) => { holds.push(n) } })
    expect(await failure(refused)).toEqual({ code: 'MANIFEST_INVALID', status: 400, connection: undefined })
    expect(holds).toEqual([2, 2])
  })
})
