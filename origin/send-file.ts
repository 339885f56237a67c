// Sending a local-disk blob the way a file server does: read into two reused buffers, each
// written to the socket while the other is read, no allocation per chunk. The app answers a
// blob GET with a Web ReadableStream (portable, like every handler); for bodies the fs driver
// made, this Node leaf sends the same byte range itself. Fresh 1 MiB buffers per chunk (what a
// stream must hand out) cost a full-heap GC every few dozen MiB: measured 0.7 s of CPU per GiB
// pulled, against ~0.1 s here (README "Benchmarks"). Status and headers are the app's, untouched.

import { close, open, read } from 'node:fs'
import { ServerResponse } from 'node:http'
import { promisify } from 'node:util'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { localFileOf, type LocalFile } from '../storage/drivers/fs-read-stream.ts'

const CHUNK = 1024 * 1024
const openFile = promisify(open)
const readFile = promisify(read)

/**
 * Sends `response` itself when its body is a local file and returns node-server's "already
 * sent" marker; returns `response` unchanged otherwise, or when the file cannot be opened (the
 * Web stream path then serves it).
 */
export async function sendLocalFile(response: Response, outgoing: unknown): Promise<Response> {
  // Only a blob GET's bytes can be a local file (the pull layer answers them as octet-stream; a
  // local file under another type is still sent right, through its Web stream). Reading `.body` of
  // @hono/node-server's lightweight Response builds a full undici Response and a body stream, and
  // moves every other answer (a HEAD, a manifest, an error) off node-server's one-write path.
  if (!(outgoing instanceof ServerResponse) || outgoing.req?.method === 'HEAD' || outgoing.headersSent) return response
  if (response.headers.get('content-type') !== 'application/octet-stream') return response
  const file = response.body ? localFileOf(response.body) : null
  if (!file) return response
  // Opened before the status line goes out, so a vanished file still gets the app's answer.
  const fd = await openFile(file.path, 'r').catch(() => null)
  if (fd === null) return response
  // The Web stream had opened its own handle and may have read ahead: release it.
  await response.body!.cancel().catch(() => {})
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => { headers[name] = value })
  outgoing.writeHead(response.status, headers)
  pump(fd, file, outgoing)
    .then(() => outgoing.end())
    // A client that went away, or a read error mid-body: the status is sent, so cut the response.
    .catch(() => outgoing.destroy())
    .finally(() => close(fd, () => {}))
  return RESPONSE_ALREADY_SENT
}

async function pump(fd: number, file: LocalFile, outgoing: ServerResponse): Promise<void> {
  const buffers = [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)]
  // written[n]: the socket has taken the last write made from buffers[n].
  const written: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()]
  let position = file.start
  for (let i = 0; position < file.end; i = 1 - i) {
    await written[i]
    const buffer = buffers[i]
    const { bytesRead } = await readFile(fd, buffer, 0, Math.min(CHUNK, file.end - position), position)
    if (bytesRead === 0) throw new Error(`${file.path} ended at ${position}, expected ${file.end}`)
    position += bytesRead
    if (outgoing.destroyed) throw new Error('client went away')
    written[i] = new Promise((resolve, reject) => {
      outgoing.write(buffer.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve()))
    })
    written[i].catch(() => {})
  }
  await Promise.all(written)
}
