// A minimal OCI push/pull client over node:http, shaped like docker/containerd/skopeo: one
// POST, the whole layer in one streamed PATCH (chunked transfer encoding, no Content-Range),
// then PUT ?digest=. One keep-alive connection per push or pull, like their Go HTTP clients; a
// fresh one for the next, so an idle socket the server timed out between measurements is never
// reused (that race ends in ECONNRESET). Loopback only.

import { request, Agent, type IncomingMessage, type ClientRequest } from 'node:http'
import { once } from 'node:events'
import { createHash } from 'node:crypto'
import { spawn, spawnSync } from 'node:child_process'


export interface PushTiming {
  /** POST → PUT response, seconds: what the user waits for. */
  seconds: number
  /** The PATCH alone (bytes on the wire into the origin's storage). */
  patchSeconds: number
  /** The PUT alone (verification, content key, DB transaction). */
  putSeconds: number
}

async function readAll(res: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of res) text += chunk
  return text
}

async function expectStatus(res: IncomingMessage, status: number, what: string): Promise<void> {
  const body = await readAll(res)
  if (res.statusCode !== status) throw new Error(`${what}: expected ${status}, got ${res.statusCode}: ${body.slice(0, 500)}`)
}

function send(agent: Agent, base: string, method: string, path: string, headers: Record<string, string> = {}): ClientRequest {
  const url = new URL(path, base)
  if (url.hostname !== '127.0.0.1') throw new Error('the benchmark only talks to 127.0.0.1')
  return request({ agent, method, host: url.hostname, port: url.port, path: url.pathname + url.search, headers })
}

/** A body-less request; resolves with the response's Location header. */
async function simple(agent: Agent, base: string, method: string, path: string, status: number): Promise<string | undefined> {
  const req = send(agent, base, method, path, { 'Content-Length': '0' })
  req.end()
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  await expectStatus(res, status, `${method} ${path}`)
  return res.headers.location
}

/** Streams `chunks` as one chunked body, honouring backpressure; resolves with the response. */
async function streamBody(req: ClientRequest, chunks: Iterable<Uint8Array>): Promise<IncomingMessage> {
  const response = once(req, 'response') as Promise<[IncomingMessage]>
  // An early answer (an error) must stop the writing instead of waiting for 'drain' forever.
  let answered = false
  void response.then(() => { answered = true }, () => { answered = true })
  for (const chunk of chunks) {
    if (answered) break
    if (!req.write(chunk)) await Promise.race([once(req, 'drain'), response])
  }
  req.end()
  const [res] = await response
  return res
}

export async function pushBlob(base: string, name: string, digest: string, chunks: Iterable<Uint8Array>): Promise<PushTiming> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    return await pushWith(agent, base, name, digest, chunks)
  } finally {
    agent.destroy()
  }
}

async function pushWith(agent: Agent, base: string, name: string, digest: string, chunks: Iterable<Uint8Array>): Promise<PushTiming> {
  const started = performance.now()
  const location = await simple(agent, base, 'POST', `/v2/${name}/blobs/uploads/`, 202)
  if (!location) throw new Error('POST /blobs/uploads/: no Location header')
  const patchStarted = performance.now()
  const patch = send(agent, base, 'PATCH', location, { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' })
  const patched = await streamBody(patch, chunks)
  const next = patched.headers.location
  await expectStatus(patched, 202, 'PATCH (streamed)')
  if (!next) throw new Error('PATCH: no Location header')
  const putStarted = performance.now()
  const sep = next.includes('?') ? '&' : '?'
  await simple(agent, base, 'PUT', `${next}${sep}digest=${encodeURIComponent(digest)}`, 201)
  const done = performance.now()
  return { seconds: (done - started) / 1000, patchSeconds: (putStarted - patchStarted) / 1000, putSeconds: (done - putStarted) / 1000 }
}

/** GET the blob and discard it (optionally hashing it, untimed use only). */
export async function pullBlob(base: string, name: string, digest: string, options: { verify?: boolean } = {}): Promise<{ seconds: number; bytes: number; digest: string | null }> {
  const started = performance.now()
  const req = send(new Agent({ keepAlive: false }), base, 'GET', `/v2/${name}/blobs/${digest}`)
  req.end()
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  if (res.statusCode !== 200) throw new Error(`GET blob: ${res.statusCode}: ${(await readAll(res)).slice(0, 500)}`)
  const hash = options.verify ? createHash('sha256') : null
  let bytes = 0
  for await (const chunk of res) {
    bytes += (chunk as Buffer).byteLength
    hash?.update(chunk as Buffer)
  }
  return { seconds: (performance.now() - started) / 1000, bytes, digest: hash ? `sha256:${hash.digest('hex')}` : null }
}

/** Whether curl is installed: a C client shows the server's pull speed without Node's own costs. */
export function hasCurl(): boolean {
  return spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0
}

/** GET the blob with curl into /dev/null (what a Go client such as containerd costs, roughly). */
export async function curlPull(base: string, name: string, digest: string): Promise<{ seconds: number; bytes: number }> {
  const url = new URL(`/v2/${name}/blobs/${digest}`, base)
  if (url.hostname !== '127.0.0.1') throw new Error('the benchmark only talks to 127.0.0.1')
  const started = performance.now()
  const child = spawn('curl', ['-sS', '--fail', '-o', '/dev/null', '-w', '%{size_download}', url.href], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => { out += s })
  const [code] = (await once(child, 'exit')) as [number | null]
  const seconds = (performance.now() - started) / 1000
  if (code !== 0) throw new Error(`curl pull failed (${code}): ${out}`)
  return { seconds, bytes: Number(out) }
}

/** PUT a manifest by tag; resolves with its digest (Docker-Content-Digest). */
export async function putManifest(base: string, name: string, tag: string, body: Uint8Array, mediaType: string): Promise<string> {
  const agent = new Agent({ keepAlive: false })
  const req = send(agent, base, 'PUT', `/v2/${name}/manifests/${tag}`, { 'Content-Type': mediaType, 'Content-Length': String(body.byteLength) })
  req.end(body)
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  await expectStatus(res, 201, `PUT manifest ${name}:${tag}`)
  return String(res.headers['docker-content-digest'])
}
