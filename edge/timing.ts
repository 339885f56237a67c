// Time at the edge, portable. withTimeout: a storage call that must start answering within `ms`
// or is given up on (aborted through the signal it was handed), so the caller moves on to the next
// location. cachedFor: a per-request lookup (index status, health hints) read at most so often.

export async function withTimeout<T>(ms: number, start: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new Error(`no answer within ${ms} ms`))
    }, ms)
  })
  const started = start(controller.signal)
  // A read that answers after the timeout lost: its body is nobody's, so close it.
  started.then((late) => { if (controller.signal.aborted) void (late as { body?: ReadableStream } | null)?.body?.cancel().catch(() => {}) }, () => {})
  try {
    return await Promise.race([started, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** `load`, run at most once per `ms`: later calls within that time get its last answer. */
export function cachedFor<T>(ms: number, load: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: T } | null = null
  return async () => {
    if (last === null || Date.now() - last.at > ms) last = { at: Date.now(), value: await load() }
    return last.value
  }
}
