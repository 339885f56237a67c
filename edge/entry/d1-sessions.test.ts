// The D1 session rules (d1-sessions.ts) over a stand-in for D1's Sessions API that records which
// constraint or bookmark each session was started from and hands out ever newer bookmarks; the
// real API runs in workerd (test/runtimes/workerd-edge.test.ts).

import { describe, expect, it } from 'vitest'
import { createBookmarkKeeper, monotonicD1Store, primaryD1Store, type D1Session, type D1WithSessions } from './d1-sessions.ts'

function recordingD1(bookmarksHandedOut: string[]) {
  const started: string[] = []
  const db: D1WithSessions = {
    withSession(from = 'first-unconstrained') {
      started.push(from)
      let bookmark: string | null = null
      const statement = { bind: () => statement, all: async <T>() => ({ results: [] as T[] }) }
      const session: D1Session = {
        prepare: () => statement,
        batch: async () => { bookmark = bookmarksHandedOut.shift() ?? bookmark; return [] },
        getBookmark: () => bookmark,
      }
      statement.all = async <T>() => { bookmark = bookmarksHandedOut.shift() ?? bookmark; return { results: [] as T[] } }
      return session
    },
  }
  return { db, started }
}

describe('D1 sessions for a region index', () => {
  it('starts every read from the newest bookmark this isolate has seen, never an older one', async () => {
    const { db, started } = recordingD1(['b-0003', 'b-0001', 'b-0005'])
    const store = monotonicD1Store(db, createBookmarkKeeper())
    await store.all('SELECT 1')
    await store.all('SELECT 1')
    await store.all('SELECT 1')
    await store.all('SELECT 1')
    // The second read saw an older replica's bookmark (b-0001): the third still starts at b-0003.
    expect(started).toEqual(['first-unconstrained', 'b-0003', 'b-0003', 'b-0005'])
  })

  it('lets the cron read the primary and hands its bookmark to the isolate\'s reads', async () => {
    const { db, started } = recordingD1(['b-0009'])
    const bookmarks = createBookmarkKeeper()
    await primaryD1Store(db, bookmarks).batch([{ sql: 'INSERT INTO meta VALUES (1, 2)' }])
    await monotonicD1Store(db, bookmarks).all('SELECT 1')
    expect(started).toEqual(['first-primary', 'b-0009'])
  })

  it('refuses exec on a session (the index sets up its schema by batch)', async () => {
    const { db } = recordingD1([])
    await expect(monotonicD1Store(db, createBookmarkKeeper()).exec('CREATE TABLE t (x)')).rejects.toThrow(/batch/)
  })
})
