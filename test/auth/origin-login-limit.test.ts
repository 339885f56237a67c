// The failed-login limit per client address behind proxies: with the edges (or a load balancer)
// listed in origin.trustedProxies, their X-Forwarded-For names the client, so one client's failures
// do not lock out the others logging in through the same edge; without, the header is ignored.

import { afterEach, describe, expect, it } from 'vitest'
import type { TestOrigin } from '../helpers/origin.ts'
import { serviceOf, startAuthOrigin } from './origin-client.ts'

async function failedLogin(origin: TestOrigin, user: string, forwardedFor: string): Promise<number> {
  const res = await fetch(`${origin.url}/v2/token?service=${encodeURIComponent(serviceOf(origin))}`, {
    headers: { authorization: `Basic ${btoa(`${user}:wrong password`)}`, 'x-forwarded-for': forwardedFor },
  })
  await res.body?.cancel()
  return res.status
}

describe('failed logins per client address', () => {
  let origin: TestOrigin | undefined
  afterEach(async () => { await origin?.close(); origin = undefined })

  const start = (env: Record<string, string>) => startAuthOrigin({
    env, edit: (c) => ({ ...c, auth: { ...c.auth, loginFailuresPerAddress: 3, loginFailuresPerAccount: 100 } }),
  })

  it('counts the address a trusted proxy forwards for, so other clients behind it can still log in', async () => {
    origin = await start({ MERIDIAN_TRUSTED_PROXIES: '127.0.0.0/8' })
    for (let i = 0; i < 3; i++) expect(await failedLogin(origin, `nobody-${i}`, '203.0.113.7')).toBe(401)
    expect(await failedLogin(origin, 'nobody-3', '203.0.113.7')).toBe(429)
    // Another client behind the same proxy is not locked out.
    expect(await failedLogin(origin, 'nobody-4', '203.0.113.8')).toBe(401)
    // A client cannot dodge the limit by prepending addresses: the right-most untrusted one counts.
    expect(await failedLogin(origin, 'nobody-5', '198.51.100.1, 203.0.113.7')).toBe(429)
  })

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    origin = await start({})
    for (let i = 0; i < 3; i++) expect(await failedLogin(origin, `nobody-${i}`, `203.0.113.${i}`)).toBe(401)
    expect(await failedLogin(origin, 'nobody-3', '203.0.113.99')).toBe(429)
  })
})
