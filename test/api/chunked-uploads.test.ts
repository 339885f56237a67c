// distribution-spec "Pushing a blob in chunks" (end-5, end-6): PATCH with Content-Range in order,
// 416 for a chunk out of order or a malformed range (the session stays usable), streamed PATCH
// without Content-Range (how docker and containerd push layers), and sessions that survive an
// origin restart (ARCHITECTURE §4.3: upload sessions are durable).

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import {
  at, bytesOf, closeUpload, expectOciError, openUpload, patchChunk, randomBytes, rangeOf, sha256, sha512, streamOf, uniqueName,
} from '../helpers/registry-client.ts'

let origin: TestOrigin
beforeAll(async () => { origin = await startTestOrigin() })
afterAll(() => origin?.close())

async function readBlob(url: string, name: string, digest: string): Promise<Uint8Array> {
  const res = await fetch(at(url, `/v2/${name}/blobs/${digest}`))
  expect(res.status).toBe(200)
  return bytesOf(res)
}

/** A PATCH whose body is streamed with chunked transfer encoding: no Content-Length, no Content-Range. */
function patchStreamed(uploadUrl: string, ...chunks: Uint8Array[]): Promise<Response> {
  return fetch(uploadUrl, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: streamOf(...chunks),
    duplex: 'half',
  } as RequestInit)
}

describe('PATCH with Content-Range', () => {
  it('appends chunks in order; each 202 carries Location and the Range received so far', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(3 * 1024 + 17)
    const cuts = [0, 1024, 2048, bytes.byteLength]
    for (let i = 0; i < 3; i++) {
      const res = await patchChunk(upload, bytes.subarray(cuts[i], cuts[i + 1]), cuts[i]!)
      expect(res.status).toBe(202)
      expect(res.headers.get('range')).toBe(`0-${cuts[i + 1]! - 1}`)
      expect(at(origin.url, res.headers.get('location')!)).toBe(upload)
      expect(res.headers.get('docker-upload-uuid')).toBe(upload.split('/').pop())
    }
    const res = await closeUpload(upload, sha256(bytes))
    expect(res.status).toBe(201)
    expect(await readBlob(origin.url, name, sha256(bytes))).toEqual(bytes)
  })

  it('accepts the `bytes <start>-<end>/<total>` form some clients send', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(100)
    const res = await fetch(upload, { method: 'PATCH', headers: { 'Content-Range': 'bytes 0-99/100' }, body: bytes })
    expect(res.status).toBe(202)
    expect((await closeUpload(upload, sha256(bytes))).status).toBe(201)
  })

  it('the closing PUT may carry the last chunk, with or without Content-Range', async () => {
    const name = uniqueName()
    for (const withRange of [true, false]) {
      const upload = await openUpload(origin.url, name)
      const bytes = randomBytes(2000)
      expect((await patchChunk(upload, bytes.subarray(0, 1200), 0)).status).toBe(202)
      const target = new URL(upload)
      target.searchParams.set('digest', sha256(bytes))
      const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' }
      if (withRange) headers['Content-Range'] = `1200-${bytes.byteLength - 1}`
      const res = await fetch(target, { method: 'PUT', headers, body: bytes.subarray(1200) })
      expect(res.status, `with Content-Range: ${withRange}`).toBe(201)
      expect(res.headers.get('docker-content-digest')).toBe(sha256(bytes))
      expect(await readBlob(origin.url, name, sha256(bytes))).toEqual(bytes)
    }
  })

  it('a chunk that skips ahead is 416 with the current Range; the session resumes from there', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(300)
    expect((await patchChunk(upload, bytes.subarray(0, 100), 0)).status).toBe(202)
    const skipped = await patchChunk(upload, bytes.subarray(200), 200)
    expect(skipped.status).toBe(416)
    expect(skipped.headers.get('range')).toBe('0-99')
    expect(await rangeOf(upload)).toBe('0-99')
    expect((await patchChunk(upload, bytes.subarray(100, 200), 100)).status).toBe(202)
    expect((await patchChunk(upload, bytes.subarray(200), 200)).status).toBe(202)
    expect((await closeUpload(upload, sha256(bytes))).status).toBe(201)
    expect(await readBlob(origin.url, name, sha256(bytes))).toEqual(bytes)
  })

  it('a chunk that repeats bytes already received is 416 and changes nothing', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(200)
    await patchChunk(upload, bytes.subarray(0, 100), 0)
    expect((await patchChunk(upload, bytes.subarray(0, 100), 0)).status).toBe(416)
    expect((await patchChunk(upload, bytes.subarray(50, 150), 50)).status).toBe(416)
    expect(await rangeOf(upload)).toBe('0-99')
    const res = await closeUpload(upload, sha256(bytes), bytes.subarray(100))
    expect(res.status).toBe(201)
    expect(await readBlob(origin.url, name, sha256(bytes))).toEqual(bytes)
  })

  it('a first chunk that does not start at 0 is 416', async () => {
    const upload = await openUpload(origin.url, uniqueName())
    expect((await patchChunk(upload, randomBytes(10), 5)).status).toBe(416)
    expect(await rangeOf(upload)).toBe('0-0')
  })

  it('a malformed Content-Range is 416, never a 500, and the session stays usable', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    for (const header of ['bytes=0-9', 'abc', '9-0', '0-', '-9', '0-9/5', '0x0-0x9', '99999999999999999999-99999999999999999999']) {
      const res = await fetch(upload, { method: 'PATCH', headers: { 'Content-Range': header }, body: randomBytes(10) })
      expect(res.status, `Content-Range: ${header}`).toBe(416)
      const body = await res.json() as { errors: { code: string }[] }
      expect(body.errors[0]!.code).toMatch(/^[A-Z_]+$/)
    }
    const bytes = randomBytes(10)
    expect((await patchChunk(upload, bytes, 0)).status).toBe(202)
    expect((await closeUpload(upload, sha256(bytes))).status).toBe(201)
  })

  it('a chunk with more bytes than its Content-Range is refused and the session does not move', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const res = await fetch(upload, {
      method: 'PATCH', headers: { 'Content-Range': '0-9' }, body: streamOf(randomBytes(10), randomBytes(10)), duplex: 'half',
    } as RequestInit)
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    await res.body?.cancel()
    expect(await rangeOf(upload)).toBe('0-0')
    const bytes = randomBytes(10)
    expect((await patchChunk(upload, bytes, 0)).status).toBe(202)
    expect((await closeUpload(upload, sha256(bytes))).status).toBe(201)
  })

  it('a closing PUT whose last chunk does not continue the upload is 416; the session survives', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(100)
    await patchChunk(upload, bytes.subarray(0, 60), 0)
    const target = new URL(upload)
    target.searchParams.set('digest', sha256(bytes))
    const wrong = await fetch(target, { method: 'PUT', headers: { 'Content-Range': '70-109' }, body: bytes.subarray(60) })
    expect(wrong.status).toBe(416)
    await wrong.body?.cancel()
    const right = await fetch(target, { method: 'PUT', headers: { 'Content-Range': '60-99' }, body: bytes.subarray(60) })
    expect(right.status).toBe(201)
    expect(await readBlob(origin.url, name, sha256(bytes))).toEqual(bytes)
  })

  it('two PATCHes racing for the same offset: one is accepted, the other is 416', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const a = randomBytes(200_000)
    const b = randomBytes(200_000)
    const results = await Promise.all([patchChunk(upload, a, 0), patchChunk(upload, b, 0)])
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([202, 416])
    const winner = results[0]!.status === 202 ? a : b
    expect(await rangeOf(upload)).toBe(`0-${winner.byteLength - 1}`)
    expect((await closeUpload(upload, sha256(winner))).status).toBe(201)
    expect(await readBlob(origin.url, name, sha256(winner))).toEqual(winner)
  })

  it('an empty PATCH is accepted and moves nothing', async () => {
    const upload = await openUpload(origin.url, uniqueName())
    await patchChunk(upload, randomBytes(10), 0)
    const res = await fetch(upload, { method: 'PATCH', body: new Uint8Array(0) })
    expect(res.status).toBe(202)
    expect(res.headers.get('range')).toBe('0-9')
  })
})

describe('PATCH without Content-Range (streamed)', () => {
  it('appends a chunked-transfer body of unknown length', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const parts = [randomBytes(70_000), randomBytes(1), randomBytes(130_000)]
    const whole = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
    let offset = 0
    for (const p of parts) { whole.set(p, offset); offset += p.byteLength }
    const res = await patchStreamed(upload, ...parts)
    expect(res.status).toBe(202)
    expect(res.headers.get('range')).toBe(`0-${whole.byteLength - 1}`)
    expect((await closeUpload(upload, sha256(whole))).status).toBe(201)
    expect(await readBlob(origin.url, name, sha256(whole))).toEqual(whole)
  })

  it('streamed PATCHes may follow one another and mix with ranged ones', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const a = randomBytes(500)
    const b = randomBytes(600)
    const c = randomBytes(700)
    expect((await patchStreamed(upload, a)).status).toBe(202)
    expect((await patchStreamed(upload, b)).status).toBe(202)
    expect((await patchChunk(upload, c, 1100)).status).toBe(202)
    const whole = new Uint8Array([...a, ...b, ...c])
    expect(await rangeOf(upload)).toBe(`0-${whole.byteLength - 1}`)
    expect((await closeUpload(upload, sha512(whole))).status).toBe(201)
    expect(await readBlob(origin.url, name, sha512(whole))).toEqual(whole)
  })

  it('a plain PATCH with Content-Length and no Content-Range appends too', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    const bytes = randomBytes(4000)
    const res = await fetch(upload, { method: 'PATCH', body: bytes })
    expect(res.status).toBe(202)
    expect(res.headers.get('range')).toBe('0-3999')
    expect((await closeUpload(upload, sha256(bytes))).status).toBe(201)
  })

  it('a wrong digest after a streamed upload is DIGEST_INVALID', async () => {
    const name = uniqueName()
    const upload = await openUpload(origin.url, name)
    await patchStreamed(upload, randomBytes(1000))
    await expectOciError(await closeUpload(upload, sha256(randomBytes(10))), 'DIGEST_INVALID', 400)
  })
})

describe('an upload session across an origin restart', () => {
  it('continues on a new origin over the same data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-restart-'))
    try {
      const name = uniqueName('restart')
      const bytes = randomBytes(5000)
      const first = await startTestOrigin({ dataDir })
      const upload = await openUpload(first.url, name)
      const path = new URL(upload).pathname
      expect((await patchChunk(upload, bytes.subarray(0, 2000), 0)).status).toBe(202)
      await first.close()

      const second = await startTestOrigin({ dataDir })
      try {
        const resumed = at(second.url, path)
        expect(await rangeOf(resumed)).toBe('0-1999')
        expect((await patchChunk(resumed, bytes.subarray(2000, 4000), 2000)).status).toBe(202)
        expect((await closeUpload(resumed, sha256(bytes), bytes.subarray(4000))).status).toBe(201)
        expect(await readBlob(second.url, name, sha256(bytes))).toEqual(bytes)
      } finally {
        await second.close()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('still refuses a wrong digest after the restart (the running hash was lost with the process)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-restart-'))
    try {
      const name = uniqueName('restart')
      const first = await startTestOrigin({ dataDir })
      const upload = await openUpload(first.url, name)
      const path = new URL(upload).pathname
      await patchChunk(upload, randomBytes(100), 0)
      await first.close()

      const second = await startTestOrigin({ dataDir })
      try {
        const wrong = sha256(randomBytes(100))
        await expectOciError(await closeUpload(at(second.url, path), wrong), 'DIGEST_INVALID', 400)
        expect((await fetch(at(second.url, `/v2/${name}/blobs/${wrong}`))).status).toBe(404)
      } finally {
        await second.close()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
