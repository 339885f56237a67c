// One reconciler per deployment: of several processes sharing the database, only the lease
// holder runs passes, and another takes over when it stops.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase, closeDatabase, type Db } from '../db/client.ts'
import { commitBlob } from '../db/queries/blobs.ts'
import { testDatabaseUrl } from '../test/helpers/test-database.ts'
import { startReconciler } from './replication/reconcile.ts'
import { createLease } from './lease.ts'

describe('reconciler lease', () => {
  const open: Db[] = []
  let dir: string
  afterEach(async () => {
    for (const db of open.splice(0)) await closeDatabase(db)
    rmSync(dir, { recursive: true, force: true })
  })

  it('runs passes in one process only, and in another once the holder stops', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-lease-'))
    const url = await testDatabaseUrl(dir)
    for (let i = 0; i < 3; i++) open.push(await openDatabase(url))
    await commitBlob(open[0], { repository: 'acme/app', digest: `sha256:${'1'.repeat(64)}`, size: 1, location: 'a', targetsFor: () => [] })
    const passes = [0, 0, 0]
    const start = (i: number) => startReconciler(open[i], () => ['a'], {
      intervalMs: 50, pageGapMs: 10, lease: createLease(open[i], 'reconciler', `p${i}`, 60_000),
      onResult: () => { passes[i]++ },
    })
    const reconcilers = [start(0), start(1), start(2)]
    await new Promise((r) => setTimeout(r, 600))
    const running = passes.map((n, i) => (n > 0 ? i : -1)).filter((i) => i >= 0)
    expect(running).toHaveLength(1)
    const holder = running[0]
    expect(passes[holder]).toBeGreaterThan(3)
    // The holder stops cleanly (releases): another process takes the passes over.
    await reconcilers[holder].stop()
    const before = [...passes]
    await new Promise((r) => setTimeout(r, 600))
    const tookOver = passes.map((n, i) => (i !== holder && n > before[i] ? i : -1)).filter((i) => i >= 0)
    expect(tookOver).toHaveLength(1)
    for (const [i, r] of reconcilers.entries()) if (i !== holder) await r.stop()
  })
})
