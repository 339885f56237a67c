import { describe, expect, it } from 'vitest'
import { addressBucket, createLoginLimiter } from './login-limit.ts'

describe('failed-login limit', () => {
  it('blocks an account after perAccount failures from any address, until the window has passed', () => {
    let now = 0
    const limiter = createLoginLimiter({ perAccount: 3, perAddress: 100, windowMs: 60_000, now: () => now })
    for (const address of ['a', 'b', 'c']) {
      expect(limiter.check('alice', address).allowed).toBe(true)
      limiter.failed('alice', address)
      now += 1000
    }
    expect(limiter.check('alice', 'd')).toEqual({ allowed: false, retryAfterSeconds: 57 })
    expect(limiter.check('bob', 'd').allowed).toBe(true)
    now = 60_000 // the first failure leaves the window
    expect(limiter.check('alice', 'd').allowed).toBe(true)
  })

  it('blocks an address spraying many accounts', () => {
    const limiter = createLoginLimiter({ perAccount: 100, perAddress: 2, now: () => 0 })
    limiter.failed('alice', '10.0.0.1')
    limiter.failed('bob', '10.0.0.1')
    expect(limiter.check('carol', '10.0.0.1')).toEqual({ allowed: false, retryAfterSeconds: 900 })
    expect(limiter.check('carol', '10.0.0.2').allowed).toBe(true)
  })

  it('clears an account on success, but not its address', () => {
    const limiter = createLoginLimiter({ perAccount: 2, perAddress: 3, now: () => 0 })
    limiter.failed('alice', 'x')
    limiter.failed('alice', 'x')
    expect(limiter.check('alice', 'y').allowed).toBe(false)
    limiter.succeeded('alice', 'x')
    expect(limiter.check('alice', 'y').allowed).toBe(true)
    limiter.failed('bob', 'x')
    expect(limiter.check('carol', 'x').allowed).toBe(false)
  })

  it('counts an empty account name against the address only', () => {
    const limiter = createLoginLimiter({ perAccount: 1, perAddress: 5, now: () => 0 })
    limiter.failed('', 'x')
    expect(limiter.check('', 'x').allowed).toBe(true)
    expect(limiter.check('', 'y').allowed).toBe(true)
  })
})

describe('failed-login limit: addresses', () => {
  it('counts IPv6 addresses by their /64 and IPv4 addresses one by one', () => {
    expect(addressBucket('2001:db8:1:2::5')).toBe('2001:db8:1:2::/64')
    expect(addressBucket('[2001:DB8:1:2:aaaa:bbbb:cccc:dddd]:443')).toBe('2001:db8:1:2::/64')
    expect(addressBucket('::ffff:192.0.2.7')).toBe('192.0.2.7')
    expect(addressBucket('192.0.2.7')).toBe('192.0.2.7')
    expect(addressBucket('unknown')).toBe('unknown')

    const limiter = createLoginLimiter({ perAccount: 100, perAddress: 3, now: () => 0 })
    // One host rotating through its /64 is one address here.
    for (const [i, address] of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff:ffff:ffff:ffff'].entries()) limiter.failed(`made-up-${i}`, address)
    expect(limiter.check('alice', '2001:db8:1:2:1234::9')).toEqual({ allowed: false, retryAfterSeconds: 900 })
    expect(limiter.check('alice', '2001:db8:1:3::1').allowed).toBe(true)
    // IPv4 neighbours are different addresses; the IPv4-mapped form is the same one.
    for (let i = 0; i < 3; i++) limiter.failed(`v4-${i}`, '192.0.2.1')
    expect(limiter.check('alice', '192.0.2.1').allowed).toBe(false)
    expect(limiter.check('alice', '::ffff:192.0.2.1').allowed).toBe(false)
    expect(limiter.check('alice', '192.0.2.2').allowed).toBe(true)
  })
})

describe('failed-login limit: a full table', () => {
  it('drops the oldest keys under their limit, never an account at its limit', () => {
    let now = 0
    const limiter = createLoginLimiter({ perAccount: 3, perAddress: 3, now: () => now })
    for (let i = 0; i < 3; i++) limiter.failed('alice', `10.0.0.${i}`)
    expect(limiter.check('alice', '10.1.0.1').allowed).toBe(false)
    // A spray of made-up names, each from a fresh /64: more keys than the table holds (100,000).
    let tried = 0
    for (let i = 0; i < 60_000; i++) {
      now += 1
      const address = `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`
      if (!limiter.check(`ghost${i}`, address).allowed) continue
      limiter.failed(`ghost${i}`, address)
      tried++
    }
    expect(tried).toBe(60_000)
    expect(limiter.check('alice', '10.1.0.1').allowed).toBe(false)
  })

  it('refuses new keys rather than dropping old ones when every key is at its limit, until one falls under', () => {
    let now = 0
    const limiter = createLoginLimiter({ perAccount: 2, perAddress: 2, windowMs: 60_000, maxKeys: 4, now: () => now })
    // Two accounts at their limit, from two addresses at theirs: four keys, all at the limit.
    limiter.failed('alice', '10.0.0.1')
    limiter.failed('alice', '10.0.0.1')
    now = 1000
    limiter.failed('bob', '10.0.0.2')
    limiter.failed('bob', '10.0.0.2')
    now = 2000
    expect(limiter.check('carol', '10.0.0.3')).toEqual({ allowed: false, retryAfterSeconds: 58 })
    limiter.failed('carol', '10.0.0.3') // not counted, and nothing dropped for it
    expect(limiter.check('alice', '10.0.0.9').allowed).toBe(false)
    expect(limiter.check('bob', '10.0.0.9').allowed).toBe(false)
    // Alice's failures and 10.0.0.1's leave the window: their keys make the room, carol may try.
    now = 60_000
    expect(limiter.check('carol', '10.0.0.3').allowed).toBe(true)
    limiter.failed('carol', '10.0.0.3')
    expect(limiter.check('bob', '10.0.0.9').allowed).toBe(false)
  })
})
