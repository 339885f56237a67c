// The proxy-path baseline of `npm run bench` (scripts/bench/edge.ts): the plainest Node proxy, a
// node:http server piping each GET to the same path at BENCH_UPSTREAM, headers passed through.
// Beside it the edge's proxy path shows what the edge itself costs, apart from what any Node
// process copying every byte between two sockets costs on this machine.
import { createServer, request } from 'node:http'
import { pipeline } from 'node:stream'

const upstream = new URL(process.env.BENCH_UPSTREAM)
createServer((req, res) => {
  const out = request(new URL(req.url, upstream), { method: req.method, headers: { ...req.headers, host: upstream.host } }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers)
    pipeline(up, res, () => {})
  })
  out.on('error', () => res.destroy())
  out.end()
}).listen(Number(process.env.PORT), '127.0.0.1')
