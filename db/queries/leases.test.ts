import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeDatabase, openDatabase, type Db } from '../client.ts'
import { testDatabaseUrl } from '../../test/helpers/test-database.ts'
import { acquireLease, leaseHolder, releaseLease } from './leases.ts'

let dir: string
let url: string
let a: Db
let b: Db
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meridian-lease-'))
  url = await testDatabaseUrl(dir)
  // Two handles on one database: two processes of one deployment.
  a = await openDatabase(url)
  b = await openDatabase(url)
})
afterEach(async () => {
  await closeDatabase(a)
  await closeDatabase(b)
  rmSync(dir, { recursive: true, force: true })
})

describe('leases', () => {
  it('lets one holder in, renews it, and hands the lease over only once it expired or was released', async () => {
    expect(await acquireLease(a, 'reconciler', 'origin-a', 1000, 10_000)).toBe(true)
    expect(await acquireLease(b, 'reconciler', 'origin-b', 1000, 10_500)).toBe(false)
    expect(await acquireLease(a, 'reconciler', 'origin-a', 1000, 10_900)).toBe(true) // renewed to 11_900
    expect(await acquireLease(b, 'reconciler', 'origin-b', 1000, 11_500)).toBe(false)
    expect(await leaseHolder(b, 'reconciler', 11_500)).toBe('origin-a')
    expect(await acquireLease(b, 'reconciler', 'origin-b', 1000, 12_000)).toBe(true) // a died: expired
    expect(await acquireLease(a, 'reconciler', 'origin-a', 1000, 12_100)).toBe(false)
    await releaseLease(b, 'reconciler', 'origin-b')
    expect(await leaseHolder(a, 'reconciler', 12_200)).toBeNull()
    expect(await acquireLease(a, 'reconciler', 'origin-a', 1000, 12_200)).toBe(true)
    // Another lease name is independent.
    expect(await acquireLease(b, 'cleanup', 'origin-b', 1000, 12_200)).toBe(true)
  })

  it('gives exactly one of many simultaneous contenders the lease', async () => {
    const now = Date.now()
    const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => acquireLease(i % 2 ? a : b, 'cleanup', `p${i}`, 60_000, now)))
    expect(wins.filter(Boolean)).toHaveLength(1)
  })
})
