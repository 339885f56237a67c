import { describe, expect, it } from 'vitest'
import { createLoginLimiter } from './login-limit.ts'

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
