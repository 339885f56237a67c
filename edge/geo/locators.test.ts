import { describe, expect, it } from 'vitest'
import { locateChain } from './chain.ts'
import type { Locate, LocateInput } from './locate.ts'
import { cloudflareLocator, homeLocator, trustedHeaderLocator } from './locators.ts'

const CDN = ['203.0.113.0/24', '2001:db8:cd::/48']

function input(peer: string | null, headers: Record<string, string> = {}, cf?: object): LocateInput {
  const request = new Request('http://edge.test/v2/', { headers })
  // Workers attach `cf` to the incoming Request; a plain Request carries it as an own property.
  if (cf) Object.assign(request, { cf })
  return { request, peer }
}

const CF_FRANKFURT = { 'cf-iplatitude': '50.1109', 'cf-iplongitude': '8.6821' }
const CLOUDFRONT_VIRGINIA = { 'CloudFront-Viewer-Latitude': '38.9586', 'CloudFront-Viewer-Longitude': '-77.3570' }

describe('cloudflareLocator', () => {
  it('reads request.cf latitude and longitude, which are strings on Workers', async () => {
    const position = await cloudflareLocator()(input(null, {}, { latitude: '1.3521', longitude: '103.8198' }))
    expect(position).toEqual({ lat: 1.3521, lon: 103.8198, source: 'cf' })
  })

  it('is null without request.cf, with a coordinate missing, unparsable or out of range', async () => {
    const locate = cloudflareLocator()
    expect(await locate(input(null))).toBeNull()
    expect(await locate(input(null, {}, { latitude: '50.1' }))).toBeNull()
    expect(await locate(input(null, {}, { latitude: '', longitude: '' }))).toBeNull()
    expect(await locate(input(null, {}, { latitude: '0x10', longitude: '8' }))).toBeNull()
    expect(await locate(input(null, {}, { latitude: '91', longitude: '8' }))).toBeNull()
    expect(await locate(input(null, {}, { latitude: '50', longitude: '-180.5' }))).toBeNull()
  })
})

describe('trustedHeaderLocator', () => {
  const locate = trustedHeaderLocator({ trustedProxies: CDN })

  it('honours Cloudflare visitor-location headers from a trusted proxy', async () => {
    expect(await locate(input('203.0.113.10', CF_FRANKFURT))).toEqual({ lat: 50.1109, lon: 8.6821, source: 'header:cloudflare' })
  })

  it('honours CloudFront viewer headers from a trusted proxy, IPv6 and IPv4-mapped peers included', async () => {
    const expected = { lat: 38.9586, lon: -77.357, source: 'header:cloudfront' }
    expect(await locate(input('2001:db8:cd::7', CLOUDFRONT_VIRGINIA))).toEqual(expected)
    expect(await locate(input('::ffff:203.0.113.10', CLOUDFRONT_VIRGINIA))).toEqual(expected)
  })

  it('ignores the same headers spoofed by an untrusted peer', async () => {
    expect(await locate(input('198.51.100.7', CF_FRANKFURT))).toBeNull()
    expect(await locate(input('198.51.100.7', CLOUDFRONT_VIRGINIA))).toBeNull()
    // A spoofed X-Forwarded-For naming a trusted proxy does not make the peer one.
    expect(await locate(input('198.51.100.7', { ...CF_FRANKFURT, 'x-forwarded-for': '203.0.113.10' }))).toBeNull()
    // No peer (Workers) and no trusted proxies configured: never trusted.
    expect(await locate(input(null, CF_FRANKFURT))).toBeNull()
    expect(await trustedHeaderLocator({ trustedProxies: [] })(input('203.0.113.10', CF_FRANKFURT))).toBeNull()
  })

  it('is null from a trusted proxy that sent no or broken coordinates', async () => {
    expect(await locate(input('203.0.113.10'))).toBeNull()
    expect(await locate(input('203.0.113.10', { 'cf-iplatitude': 'north', 'cf-iplongitude': '8' }))).toBeNull()
  })
})

describe('homeLocator', () => {
  it('always answers the home coordinates', async () => {
    expect(await homeLocator({ lat: 1.35, lon: 103.82 })(input('198.51.100.7'))).toEqual({ lat: 1.35, lon: 103.82, source: 'home' })
  })

  it('refuses impossible home coordinates at configuration time', () => {
    expect(() => homeLocator({ lat: 103.82, lon: 1.35 })).toThrow(RangeError)
  })
})

describe('locateChain', () => {
  const home = homeLocator({ lat: 1.35, lon: 103.82 })
  const chain = locateChain([cloudflareLocator(), trustedHeaderLocator({ trustedProxies: CDN }), home])

  it('answers with the first locator that knows, in configured order', async () => {
    const both = input('203.0.113.10', CF_FRANKFURT, { latitude: '38.9', longitude: '-77.4' })
    expect((await chain(both))?.source).toBe('cf')
    expect((await chain(input('203.0.113.10', CF_FRANKFURT)))?.source).toBe('header:cloudflare')
  })

  it('falls back to home when nothing else answers, spoofed headers included', async () => {
    expect(await chain(input('198.51.100.7', CF_FRANKFURT))).toEqual({ lat: 1.35, lon: 103.82, source: 'home' })
  })

  it('skips a locator that throws or rejects, reports it, and goes on', async () => {
    const errors: [unknown, number][] = []
    const broken: Locate = () => {
      throw new Error('corrupt database')
    }
    const rejecting: Locate = async () => Promise.reject(new Error('timeout'))
    const locate = locateChain([broken, rejecting, home], { onError: (error, index) => errors.push([error, index]) })
    expect((await locate(input('198.51.100.7')))?.source).toBe('home')
    expect(errors.map(([error, index]) => [(error as Error).message, index])).toEqual([['corrupt database', 0], ['timeout', 1]])
  })

  it('is null when no locator answers', async () => {
    expect(await locateChain([cloudflareLocator()])(input(null))).toBeNull()
    expect(await locateChain([])(input(null))).toBeNull()
  })
})
