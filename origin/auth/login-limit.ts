// A limit on failed logins at the token endpoint (issue #9 "Security"): per account name, so one
// account cannot be guessed at from many addresses, and per client address, so one address cannot
// spray many accounts. In memory, per origin process: a restart forgets, which only helps the
// legitimate user who was locked out.

export interface LoginLimiter {
  /** Whether a login for `account` from `address` may be tried now; if not, when to come back. */
  check(account: string, address: string): { allowed: boolean; retryAfterSeconds: number }
  /** Counts a failure against both the account and the address. An empty account counts against the address only. */
  failed(account: string, address: string): void
  /** Clears the account's failures (not the address's: one good login must not reset a spray). */
  succeeded(account: string, address: string): void
}

// Beyond this many tracked keys the oldest are dropped, so a flood of made-up names cannot grow memory without bound.
const MAX_KEYS = 100_000

export function createLoginLimiter(options: { perAccount?: number; perAddress?: number; windowMs?: number; now?: () => number } = {}): LoginLimiter {
  const { perAccount = 10, perAddress = 30, windowMs = 15 * 60_000, now = Date.now } = options
  // Failure times per key, oldest first; a Map keeps insertion order for the eviction.
  const failures = new Map<string, number[]>()
  // Enough to know when a key falls under its limit again; older failures change nothing.
  const keep = Math.max(perAccount, perAddress)

  function recent(key: string, at: number): number[] {
    const times = failures.get(key)
    if (!times) return []
    while (times.length > 0 && times[0]! <= at - windowMs) times.shift()
    if (times.length === 0) failures.delete(key)
    return times
  }

  /** Seconds until this key is under its limit again; 0 when it is already. */
  function wait(key: string, limit: number, at: number): number {
    const times = recent(key, at)
    if (times.length < limit) return 0
    // The failure whose expiry brings the count back under the limit.
    const freeing = times[times.length - limit]!
    return Math.max(1, Math.ceil((freeing + windowMs - at) / 1000))
  }

  const accountKey = (account: string) => `a:${account}`
  const addressKey = (address: string) => `i:${address}`

  return {
    check(account, address) {
      const at = now()
      const retryAfterSeconds = Math.max(account ? wait(accountKey(account), perAccount, at) : 0, wait(addressKey(address), perAddress, at))
      return { allowed: retryAfterSeconds === 0, retryAfterSeconds }
    },
    failed(account, address) {
      const at = now()
      for (const key of account ? [accountKey(account), addressKey(address)] : [addressKey(address)]) {
        const times = recent(key, at)
        times.push(at)
        if (times.length > keep) times.shift()
        failures.delete(key)
        failures.set(key, times)
      }
      while (failures.size > MAX_KEYS) failures.delete(failures.keys().next().value!)
    },
    succeeded(account) {
      failures.delete(accountKey(account))
    },
  }
}
