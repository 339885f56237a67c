// Newline-delimited JSON read as a stream: decoded with TextDecoderStream and split line by line,
// so a snapshot of any size is never held as one string (only the current line is).

/** Longest line accepted; a manifest (4 MiB at most at the origin) in base64 is well below it. */
const MAX_LINE = 16 * 1024 * 1024

export async function* ndjsonLines<T>(body: ReadableStream<Uint8Array>, maxLine = MAX_LINE): AsyncGenerator<T> {
  const reader = body.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).getReader()
  let buffered = ''
  let finished = false
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buffered += value
      let start = 0
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n', start)) {
        const line = buffered.slice(start, nl)
        start = nl + 1
        if (line.trim() !== '') yield JSON.parse(line) as T
      }
      buffered = buffered.slice(start)
      if (buffered.length > maxLine) throw new Error(`NDJSON line longer than ${maxLine} characters`)
    }
    finished = true
    if (buffered.trim() !== '') yield JSON.parse(buffered) as T
  } finally {
    // Stopped early (the consumer broke off or a line failed): release the connection.
    if (!finished) await reader.cancel().catch(() => {})
  }
}
