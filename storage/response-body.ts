// The body of a fetch Response, kept readable for as long as anyone holds it. Node's fetch (undici)
// cancels a body nobody has started reading once its Response object is garbage-collected, and the
// stream then reads as empty, without an error. A driver that hands back only `res.body` leaves the
// Response unreferenced: a caller that waits a moment before reading (seen under Node 24 on a
// loaded CI runner) got 0 bytes of a 3 MiB object. The body keeps its Response alive; nothing else
// changes (no copy, no extra stream hop).

const RESPONSE = Symbol('meridian.response')

export function bodyOf(res: Response): ReadableStream<Uint8Array> {
  const body = res.body
  if (!body) throw new Error('a response without a body')
  ;(body as unknown as Record<symbol, Response>)[RESPONSE] = res
  return body
}
