import { describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { clientErrorOf, isLoopbackAddress, listensOnLoopbackOnly, rawErrorResponse } from './http-limits.ts'

const bound = (address: string): AddressInfo => ({ address, family: address.includes(':') ? 'IPv6' : 'IPv4', port: 5000 })

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.255.0.9', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('%s is loopback', (a) => {
    expect(isLoopbackAddress(a)).toBe(true)
  })

  it.each(['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'fe80::1', '127.0.0.1.nip.io', 'localhost', ''])('%s is not', (a) => {
    expect(isLoopbackAddress(a)).toBe(false)
  })
})

describe('listensOnLoopbackOnly', () => {
  it('needs every bound address to be loopback', () => {
    expect(listensOnLoopbackOnly([bound('127.0.0.1')])).toBe(true)
    expect(listensOnLoopbackOnly([bound('127.0.0.1'), bound('::1')])).toBe(true)
    expect(listensOnLoopbackOnly([bound('127.0.0.1'), bound('0.0.0.0')])).toBe(false)
    expect(listensOnLoopbackOnly([bound('::')])).toBe(false)
  })

  it('refuses what it cannot judge: nothing bound, or a pipe', () => {
    expect(listensOnLoopbackOnly([])).toBe(false)
    expect(listensOnLoopbackOnly([null])).toBe(false)
    expect(listensOnLoopbackOnly(['/tmp/meridian.sock'])).toBe(false)
  })
})

describe('answers to requests the HTTP parser refused', () => {
  it('maps parser codes to 431, 413, 408 and 400', () => {
    expect(clientErrorOf('HPE_HEADER_OVERFLOW')).toMatchObject({ code: 'REQUEST_INVALID', status: 431 })
    expect(clientErrorOf('HPE_CHUNK_EXTENSIONS_OVERFLOW')).toMatchObject({ status: 413 })
    expect(clientErrorOf('ERR_HTTP_REQUEST_TIMEOUT')).toMatchObject({ code: 'REQUEST_TIMEOUT', status: 408 })
    expect(clientErrorOf('HPE_INVALID_METHOD')).toMatchObject({ code: 'REQUEST_INVALID', status: 400, detail: { parser: 'HPE_INVALID_METHOD' } })
    expect(clientErrorOf(undefined)).toMatchObject({ status: 400, detail: null })
  })

  it('writes a complete response that closes the connection', () => {
    const raw = rawErrorResponse(clientErrorOf('HPE_HEADER_OVERFLOW'))
    const [head, body] = raw.split('\r\n\r\n') as [string, string]
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large')
    expect(head).toContain('Connection: close')
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}`)
    expect(JSON.parse(body)).toEqual({ errors: [{ code: 'REQUEST_INVALID', message: 'request headers are too large', detail: null }] })
  })
})
