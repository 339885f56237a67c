import { describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeDatabase, openDatabase } from './client.ts'
import { appendChange } from './queries/changes.ts'
import { enqueueReplication } from './queries/placements.ts'
import { CHANGES_CHANNEL, JOBS_CHANNEL, listenForCommits } from './notify.ts'
import { testDatabaseKind, testDatabaseUrl } from '../test/helpers/test-database.ts'

// PostgreSQL only: on SQLite the wake-up is the origin's in-process signal (origin tests cover it).
describe.skipIf(testDatabaseKind() !== 'postgres')('commit notifications (PostgreSQL LISTEN/NOTIFY)', () => {
  it('wakes a listener in another process-like handle when, and only when, a change or job commits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-notify-'))
    const url = await testDatabaseUrl(dir)
    const writer = await openDatabase(url)
    const reader = await openDatabase(url)
    const heard: string[] = []
    const stopChanges = await listenForCommits(reader, CHANGES_CHANNEL, () => heard.push('changes'))
    const stopJobs = await listenForCommits(reader, JOBS_CHANNEL, () => heard.push('jobs'))
    try {
      // Rolled back: nothing is heard.
      await writer.transaction(async (tx) => {
        await appendChange(tx, 'tag.set', 'a/b', { tag: 'x', digest: 'sha256:0' })
        throw new Error('roll back')
      }).catch(() => {})
      const started = performance.now()
      await writer.transaction(async (tx) => {
        await appendChange(tx, 'tag.set', 'a/b', { tag: 'x', digest: 'sha256:1' })
        await enqueueReplication(tx, 'sha256:1', ['eu'])
      })
      while (heard.length < 2 && performance.now() - started < 5000) await new Promise((r) => setTimeout(r, 2))
      expect(heard.sort()).toEqual(['changes', 'jobs'])
      // Delivered within milliseconds, not a poll interval.
      expect(performance.now() - started).toBeLessThan(500)
    } finally {
      await stopChanges()
      await stopJobs()
      await closeDatabase(writer)
      await closeDatabase(reader)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
