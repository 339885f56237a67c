// The least a Node HTTP registry could do, for reference: node:http, no framework, no Web Streams,
// no database. It answers the same push flow (POST, streamed PATCH, PUT ?digest=) by hashing and
// writing the body to a file (fsync at the end), and GET by piping the file. The benchmark runs it
// as a child process exactly like the origin, so the gap between it and the origin is the origin's
// own overhead, and the gap between it and the raw baseline is HTTP over loopback on this machine.
//
// Env: CEILING_DIR (where bodies go), CEILING_PORT. Binds 127.0.0.1 only.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, renameSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'

const dir = process.env.CEILING_DIR!
const port = Number(process.env.CEILING_PORT)
const hashes = new Map<string, string>()
let next = 0

function reply(res: ServerResponse, status: number, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Length': '0', ...headers }).end()
}

async function receive(id: string, req: IncomingMessage): Promise<void> {
  const path = join(dir, id)
  const hash = createHash('sha256')
  const file = createWriteStream(path, { highWaterMark: 1024 * 1024 })
  const tee = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk)
      file.write(chunk) ? done() : file.once('drain', () => done())
    },
    final(done) {
      file.end(() => done())
    },
  })
  await pipeline(req, tee)
  const handle = await open(path, 'r+')
  await handle.sync()
  await handle.close()
  hashes.set(id, `sha256:${hash.digest('hex')}`)
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  if (req.method === 'GET' && url.pathname === '/v2/') return reply(res, 200)
  if (req.method === 'POST') return reply(res, 202, { Location: `/up/${next++}` })
  const upload = /^\/up\/(\d+)$/.exec(url.pathname)
  if (req.method === 'PATCH' && upload) {
    await receive(upload[1], req)
    return reply(res, 202, { Location: url.pathname })
  }
  if (req.method === 'PUT' && upload) {
    const digest = url.searchParams.get('digest') ?? ''
    if (hashes.get(upload[1]) !== digest) return reply(res, 400)
    renameSync(join(dir, upload[1]), join(dir, digest.slice('sha256:'.length)))
    return reply(res, 201, { Location: `/v2/x/blobs/${digest}` })
  }
  const blob = /\/blobs\/sha256:([0-9a-f]{64})$/.exec(url.pathname)
  if (req.method === 'GET' && blob) {
    const path = join(dir, blob[1])
    res.writeHead(200, { 'Content-Length': String(statSync(path).size), 'Content-Type': 'application/octet-stream' })
    return pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), res)
  }
  reply(res, 404)
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    process.stderr.write(`ceiling: ${err}\n`)
    if (!res.headersSent) reply(res, 500)
    else res.destroy()
  })
}).listen(port, '127.0.0.1')
process.once('SIGINT', () => process.exit(0))
