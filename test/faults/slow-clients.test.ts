// Slow and idle clients (issue #7, item 4): hundreds of connections that open and stall mid-header
// or dribble it, more connections than the cap allows, and a slow but moving upload, all at once.
// The origin (a child process, with short timeouts from its environment) keeps answering others,
// cuts the stalled ones after the header timeout, logs the cap once, and the slow upload succeeds.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, request } from 'node:http'
import { createHash } from 'node:crypto'
import type { Socket } from 'node:net'
import { startOriginProcess, type OriginProcess } from './origin-process.ts'
import { rawConnect, parseResponse } from '../helpers/raw-http.ts'
import { openUpload, closeUpload, at } from '../helpers/registry-client.ts'
import { percentile } from '../../db/queries/replication.ts'

const HEADERS_TIMEOUT_MS = 1_500
const IDLE_TIMEOUT_MS = 2_000
const MAX_CONNECTIONS = 320
const STALLED = 300
const EXTRA = 60
// The slow upload: 16 chunks of 32 KiB, one every 250 ms (4 s in all, twice the idle timeout).
const CHUNKS = 16
const CHUNK_BYTES = 32 * 1024
const CHUNK_EVERY_MS = 250

interface Watched { socket: Socket; opened: number; closedAfter: number | null; data: string }

function watch(socket: Socket, opened = Date.now()): Watched {
  const w: Watched = { socket, opened, closedAfter: null, data: '' }
  socket.on('data', (chunk: Buffer) => { w.data += chunk.toString('latin1') })
  socket.on('close', () => { w.closedAfter = Date.now() - opened })
  return w
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** GET /v2/ on one kept-alive connection, its latency in milliseconds. */
function probe(url: string, agent: Agent): Promise<number> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    request(at(url, '/v2/'), { agent }, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`GET /v2/: ${res.statusCode}`))))
    }).on('error', reject).end()
  })
}

/** A streamed PATCH (no Content-Range) that sends one chunk every CHUNK_EVERY_MS. */
function slowPatch(uploadUrl: string, bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(uploadUrl, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    let sent = 0
    const next = () => {
      if (sent === CHUNKS) return req.end()
      req.write(bytes.subarray(sent * CHUNK_BYTES, ++sent * CHUNK_BYTES))
      setTimeout(next, CHUNK_EVERY_MS)
    }
    next()
  })
}

describe('slow and idle clients', () => {
  let origin: OriginProcess
  beforeAll(async () => {
    origin = await startOriginProcess({
      MERIDIAN_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      MERIDIAN_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      MERIDIAN_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    })
  })
  afterAll(async () => { await origin?.stop() })

  it('keeps answering, cuts stalled headers, logs the cap once, and lets a slow upload finish', { timeout: 60_000 }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    for (let i = 0; i < 5; i++) await probe(origin.url, agent)
    const uploadUrl = await openUpload(origin.url, 'faults/slow')
    const layer = Buffer.alloc(CHUNKS * CHUNK_BYTES, 7)
    const upload = slowPatch(uploadUrl, layer)

    // 200 send half a request head and go silent; 100 keep dribbling it, one byte every 300 ms
    // (each byte resets the idle timer, so only the header timeout can cut them).
    const stalled: Watched[] = []
    const dribbles: NodeJS.Timeout[] = []
    for (let i = 0; i < STALLED; i++) {
      const w = watch(rawConnect(origin.url))
      w.socket.write(`GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Stall: ${i}`)
      if (i % 3 === 0) dribbles.push(setInterval(() => { if (w.closedAfter === null) w.socket.write('z') }, 300))
      stalled.push(w)
    }
    await sleep(200)
    // Beyond the cap: closed on accept.
    const extra = Array.from({ length: EXTRA }, () => watch(rawConnect(origin.url)))

    const latencies: number[] = []
    const until = Date.now() + CHUNKS * CHUNK_EVERY_MS + 500
    while (Date.now() < until) {
      latencies.push(await probe(origin.url, agent))
      await sleep(10)
    }
    const patchStatus = await upload
    dribbles.forEach(clearInterval)

    // Every stalled connection was cut after the header timeout (checked every 150 ms), and the
    // ones that can still read got the 408 in spec JSON.
    const cutAfter = stalled.map((w) => w.closedAfter)
    expect(cutAfter.every((ms) => ms !== null && ms >= HEADERS_TIMEOUT_MS - 100 && ms < HEADERS_TIMEOUT_MS + 3_000), JSON.stringify(cutAfter.slice(0, 20))).toBe(true)
    const answered = stalled.map((w) => parseResponse(w.data))
    const timedOut = answered.filter((r) => r.status === 408 && r.body.includes('"code":"REQUEST_TIMEOUT"'))
    expect(timedOut.length, JSON.stringify(answered.find((r) => r.status !== 408))).toBe(STALLED)

    // Past the cap: dropped right away, and the log says so once (rate-limited), not once each.
    const dropped = extra.filter((w) => w.closedAfter !== null && w.closedAfter < 1_000 && w.data === '')
    expect(dropped.length).toBeGreaterThanOrEqual(EXTRA - (MAX_CONNECTIONS - STALLED))
    const warnings = origin.logs.filter((l) => l.level === 'warn' && l.msg.startsWith('connection limit reached'))
    expect(warnings, JSON.stringify(warnings)).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ maxConnections: MAX_CONNECTIONS })

    // The slow upload, 4 s long and never silent for the idle timeout, went through whole.
    expect(patchStatus).toBe(202)
    const digest = `sha256:${createHash('sha256').update(layer).digest('hex')}`
    expect((await closeUpload(uploadUrl, digest)).status).toBe(201)
    const pulled = Buffer.from(await (await fetch(at(origin.url, `/v2/faults/slow/blobs/${digest}`))).arrayBuffer())
    expect(pulled.equals(layer)).toBe(true)

    // Other clients were answered meanwhile.
    const p50 = percentile(latencies, 50)!
    const p99 = percentile(latencies, 99)!
    console.info(`slow clients: ${latencies.length} GET /v2/ while ${STALLED} stalled and ${dropped.length} dropped; p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`)
    expect(p50).toBeLessThan(50)
    expect(p99).toBeLessThan(300)

    // Once the stalled ones are gone, new connections are accepted again.
    expect((await fetch(at(origin.url, '/v2/'))).status).toBe(200)
    extra.forEach((w) => w.socket.destroy())
    agent.destroy()
  })
})
