// The ceiling for small reads: a server that does nothing but answer, from memory, the exact
// status, headers and bytes the origin gave for a few paths (captured by scripts/bench/reads.ts).
// The gap between it and the origin on the same requests is the origin's own work per request;
// what is left is HTTP over loopback in that runtime. One file for two runtimes: node:http under
// Node, Bun.serve under Bun (issue 8 §7 wants each edge beside a plain server of its runtime).
//
// Env: REPLAY_ANSWERS (a JSON file of ReplayAnswer), REPLAY_PORT. Binds 127.0.0.1 only. A HEAD is
// answered with the GET's headers and no body; any other path or method is a bare 404.

import { readFileSync } from 'node:fs'

export interface ReplayAnswer {
  path: string
  status: number
  headers: Array<[string, string]>
  /** base64 */
  body: string
}

const answers: ReplayAnswer[] = JSON.parse(readFileSync(process.env.REPLAY_ANSWERS!, 'utf8'))
const port = Number(process.env.REPLAY_PORT)

interface BunServe {
  serve(options: { hostname: string; port: number; fetch(req: Request): Response }): unknown
}
const bun = (globalThis as { Bun?: BunServe }).Bun

if (bun) {
  const byPath = new Map(answers.map((a) => [a.path, { status: a.status, headers: a.headers, body: Buffer.from(a.body, 'base64') }]))
  const notFound = () => new Response(null, { status: 404 })
  bun.serve({
    hostname: '127.0.0.1',
    port,
    fetch(req) {
      const url = req.url
      const a = byPath.get(url.slice(url.indexOf('/', url.indexOf('//') + 2)))
      if (!a || (req.method !== 'GET' && req.method !== 'HEAD')) return notFound()
      return new Response(req.method === 'HEAD' ? null : a.body, { status: a.status, headers: a.headers })
    },
  })
} else {
  const { createServer } = await import('node:http')
  const byPath = new Map(answers.map((a) => [a.path, { status: a.status, headers: Object.fromEntries(a.headers), body: Buffer.from(a.body, 'base64') }]))
  createServer((req, res) => {
    const a = byPath.get(req.url ?? '')
    if (!a || (req.method !== 'GET' && req.method !== 'HEAD')) return void res.writeHead(404, { 'Content-Length': '0' }).end()
    res.writeHead(a.status, a.headers)
    res.end(req.method === 'HEAD' ? undefined : a.body)
  }).listen(port, '127.0.0.1')
}
process.once('SIGINT', () => process.exit(0))
process.once('SIGTERM', () => process.exit(0))
