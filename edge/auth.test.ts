// How the edge reads the origin's JWKS (edge/auth.ts jwksFetcher): through the origin client, from
// a real HTTP server on 127.0.0.1; only public P-256 keys kept; a failed fetch is an error, never
// an empty key set the cache would believe.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createOriginClient } from './origin-client.ts'
import { JwksUnavailable, jwksFetcher } from './auth.ts'
import { JWKS_PATH } from '../oci/auth/types.ts'

let server: Server | null = null
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = null
})

async function serve(status: number, body: string, delayMs = 0): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = []
  server = createServer((req, res) => {
    paths.push(req.url!)
    setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(body), delayMs)
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, paths }
}

const EC = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1', alg: 'ES256' }

describe('the JWKS fetcher', () => {
  it('reads the set at the origin\'s JWKS path, keeping only public P-256 members', async () => {
    const origin = await serve(200, JSON.stringify({ keys: [{ ...EC, d: 'private-part' }, { kty: 'RSA', n: 'x', e: 'AQAB', kid: 'r1' }, { ...EC, kid: undefined }] }))
    const jwks = await jwksFetcher(createOriginClient({ url: origin.url }), `${origin.url}${JWKS_PATH}`)()
    expect(jwks).toEqual({ keys: [{ ...EC, use: 'sig' }] })
    expect(origin.paths).toEqual([JWKS_PATH])
  })

  it('fails on an error status, a body that is not a key set, or no answer in time', async () => {
    const down = await serve(503, '{}')
    await expect(jwksFetcher(createOriginClient({ url: down.url }), `${down.url}${JWKS_PATH}`)()).rejects.toThrow(JwksUnavailable)
    await new Promise<void>((resolve) => server!.close(() => resolve()))
    const odd = await serve(200, '{"keys":"none"}')
    await expect(jwksFetcher(createOriginClient({ url: odd.url }), `${odd.url}${JWKS_PATH}`)()).rejects.toThrow(/not a key set/)
    await new Promise<void>((resolve) => server!.close(() => resolve()))
    const slow = await serve(200, JSON.stringify({ keys: [EC] }), 1000)
    await expect(jwksFetcher(createOriginClient({ url: slow.url }), `${slow.url}${JWKS_PATH}`, 100)()).rejects.toThrow(/no answer within 100 ms/)
  })
})
