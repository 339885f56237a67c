// What a client gets when Node's HTTP parser refuses its request, or when its request head does
// not arrive in time: the spec's JSON error on a closing connection, never an empty body.
// And who may reach the admin API without a token: decided by the address the origin binds.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { rawConnect, rawRequest, collect, type RawResponse } from '../helpers/raw-http.ts'

function expectJsonError(res: RawResponse, status: number, code: string): void {
  expect(res.status).toBe(status)
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
  expect(res.headers.connection).toBe('close')
  expect(JSON.parse(res.body).errors[0].code).toBe(code)
  expect(res.closed).toBe(true)
}

describe('requests the HTTP parser refuses', () => {
  let origin: TestOrigin
  beforeAll(async () => { origin = await startTestOrigin({ env: { MERIDIAN_HEADERS_TIMEOUT_MS: '600' } }) })
  afterAll(async () => { await origin?.close() })

  it('answers a control character in the target with 400 REQUEST_INVALID', async () => {
    expectJsonError(await rawRequest(origin.url, 'GET /v2/\x01 HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'REQUEST_INVALID')
  })

  it('answers a garbage request line with 400', async () => {
    expectJsonError(await rawRequest(origin.url, '\x16\x03\x01 not http\r\n\r\n'), 400, 'REQUEST_INVALID')
  })

  it('answers headers over 16 KiB with 431', async () => {
    expectJsonError(await rawRequest(origin.url, `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'REQUEST_INVALID')
  })

  it('answers malformed chunked encoding with 400', async () => {
    const res = await rawRequest(origin.url, 'PUT /v2/a/b/manifests/latest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n')
    expectJsonError(res, 400, 'REQUEST_INVALID')
  })

  it('answers a request head that does not arrive in time with 408, however it dribbles', async () => {
    const socket = rawConnect(origin.url)
    socket.write('GET /v2/ HTTP/1.1\r\n')
    const dribble = setInterval(() => socket.write('X'), 100)
    const res = await collect(socket, Date.now(), 5_000)
    clearInterval(dribble)
    expectJsonError(res, 408, 'REQUEST_TIMEOUT')
    // 600 ms, checked every 60 ms.
    expect(res.elapsedMs).toBeGreaterThanOrEqual(550)
    expect(res.elapsedMs).toBeLessThan(2_000)
  })

  it('closes a connection that never sends a byte after the header timeout', async () => {
    const res = await collect(rawConnect(origin.url), Date.now(), 5_000)
    expect(res.closed).toBe(true)
    expect(res.elapsedMs).toBeLessThan(2_000)
  })

  it('answers a well-formed request on the same origin as before', async () => {
    const res = await rawRequest(origin.url, 'GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(res.status).toBe(200)
  })
})

describe('the admin API without a token', () => {
  const adminStatus = async (host: string, reach: string): Promise<number> => {
    const origin = await startTestOrigin({ env: { MERIDIAN_ORIGIN_HOST: host } })
    try {
      const { port } = new URL(origin.url)
      return (await fetch(`http://${reach}:${port}/admin/replication/backlog`)).status
    } finally {
      await origin.close()
    }
  }

  it.each([['127.0.0.1'], ['localhost'], ['127.1']])('is open when %s binds loopback', async (host) => {
    expect(await adminStatus(host, '127.0.0.1')).toBe(200)
  })

  it('is open on ::1', async (ctx) => {
    const status = await adminStatus('::1', '[::1]').catch((err: NodeJS.ErrnoException) => err.code)
    if (status === 'EADDRNOTAVAIL' || status === 'EAFNOSUPPORT') ctx.skip()
    expect(status).toBe(200)
  })

  // '0' is a host name that resolves to 0.0.0.0, like a name starting with "127." could.
  it.each([['0.0.0.0'], ['0']])('is closed when %s binds every interface', async (host) => {
    expect(await adminStatus(host, '127.0.0.1')).toBe(403)
  })

  it('is closed on ::', async (ctx) => {
    const status = await adminStatus('::', '127.0.0.1').catch((err: NodeJS.ErrnoException) => err.code)
    if (status === 'EADDRNOTAVAIL' || status === 'EAFNOSUPPORT') ctx.skip()
    expect(status).toBe(403)
  })
})
