// A limit on failed logins at the token endpoint (issue #9 "Security"): per account name, so one
// account cannot be guessed at from many addresses, and per client address, so one address cannot
// spray many accounts. In memory, per origin process: a restart forgets, which only helps the
// legitimate user who was locked out.

import { parseAddress } from '../../oci/net/cidr.ts'

export interface LoginLimiter {
  /** Whether a login for `account` from `address` may be tried now; if not, when to come back. */
  check(account: string, address: string): { allowed: boolean; retryAfterSeconds: number }
  /** Counts a failure against both the account and the address. An empty account counts against the address only. */
  failed(account: string, address: string): void
  /** Clears the account's failures (not the address's: one good login must not reset a spray). */
  succeeded(account: string, address: string): void
}

// So a flood of made-up names cannot grow memory without bound.
const MAX_KEYS = 100_000

/**
 * The key an address counts under: an IPv4 address itself, an IPv6 address its /64 (one
 * subscriber's usual allocation, so rotating through it is one address here). Anything
 * unparsable ('unknown', a test's name) as it is.
 */
export function addressBucket(address: string): string {
  const parsed = parseAddress(address)
  if (!parsed) return address
  if (parsed.kind() === 'ipv4') return parsed.toString()
  const words = parsed.toByteArray()
  const hex = [0, 2, 4, 6].map((i) => ((words[i]! << 8) | words[i + 1]!).toString(16))
  return `${hex.join(':')}::/64`
}

export function createLoginLimiter(options: { perAccount?: number; perAddress?: number; windowMs?: number; now?: () => number; maxKeys?: number } = {}): LoginLimiter {
  const { perAccount = 10, perAddress = 30, windowMs = 15 * 60_000, now = Date.now, maxKeys = MAX_KEYS } = options
  // Failure times per key, oldest first; a Map keeps insertion order for the eviction.
  const failures = new Map<string, number[]>()
  // Enough to know when a key falls under its limit again; older failures change nothing.
  const keep = Math.max(perAccount, perAddress)
  // When the table last held only keys at their limit: no key can fall under it before this time.
  let fullUntil = 0

  function recent(key: string, at: number): number[] {
    const times = failures.get(key)
    if (!times) return []
    while (times.length > 0 && times[0]! <= at - windowMs) times.shift()
    if (times.length === 0) failures.delete(key)
    return times
  }

  const limitOf = (key: string) => key.startsWith('a:') ? perAccount : perAddress

  /** Seconds until this key is under its limit again; 0 when it is already. */
  function wait(key: string, limit: number, at: number): number {
    const times = recent(key, at)
    if (times.length < limit) return 0
    // The failure whose expiry brings the count back under the limit.
    const freeing = times[times.length - limit]!
    return Math.max(1, Math.ceil((freeing + windowMs - at) / 1000))
  }

  /**
   * Room for `needed` more keys, made by dropping the oldest keys under their limit. A key at its
   * limit is never dropped: that would reset it, and a spray of made-up names from many addresses
   * could then free a real account it had locked. When every key is at its limit there is no room,
   * and the logins of new keys are refused until one falls under (fail closed: the table is full
   * only while something is being guessed at on a large scale).
   */
  function makeRoom(needed: number, at: number): boolean {
    if (failures.size + needed <= maxKeys) return true
    if (at < fullUntil) return false
    const atLimit: string[] = []
    let earliestFree = Infinity
    for (const key of failures.keys()) {
      if (failures.size + needed <= maxKeys) break
      const limit = limitOf(key)
      const times = recent(key, at)
      if (times.length === 0) continue // expired: recent() dropped it
      if (times.length < limit) {
        failures.delete(key)
        continue
      }
      atLimit.push(key)
      earliestFree = Math.min(earliestFree, times[times.length - limit]! + windowMs)
    }
    // Keys at their limit go to the back, so the next search does not walk past them again.
    for (const key of atLimit) {
      const times = failures.get(key)!
      failures.delete(key)
      failures.set(key, times)
    }
    if (failures.size + needed <= maxKeys) return true
    fullUntil = earliestFree
    return false
  }

  const accountKey = (account: string) => `a:${account}`
  const addressKey = (address: string) => `i:${addressBucket(address)}`
  const keysOf = (account: string, address: string) => account ? [accountKey(account), addressKey(address)] : [addressKey(address)]

  return {
    check(account, address) {
      const at = now()
      let retryAfterSeconds = Math.max(account ? wait(accountKey(account), perAccount, at) : 0, wait(addressKey(address), perAddress, at))
      // A failure here could not be counted: refused as if at the limit.
      const untracked = keysOf(account, address).filter((key) => !failures.has(key)).length
      if (retryAfterSeconds === 0 && !makeRoom(untracked, at)) retryAfterSeconds = Math.max(1, Math.ceil((fullUntil - at) / 1000))
      return { allowed: retryAfterSeconds === 0, retryAfterSeconds }
    },
    failed(account, address) {
      const at = now()
      for (const key of keysOf(account, address)) {
        const times = recent(key, at)
        // No room (filled since check): this key goes uncounted; its next check is refused.
        if (!failures.has(key) && !makeRoom(1, at)) continue
        times.push(at)
        if (times.length > keep) times.shift()
        failures.delete(key)
        failures.set(key, times)
      }
    },
    succeeded(account) {
      if (failures.delete(accountKey(account))) fullUntil = 0
    },
  }
}
