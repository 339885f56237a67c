// Reading a D1 region index that has read replicas without ever going back in time.
//
// With D1 read replication a query may be answered by any replica, each some way behind the
// primary. The Sessions API (`db.withSession(constraint | bookmark)`) orders queries: a session
// started from a bookmark only reads from replicas at least as new as that bookmark, and
// `getBookmark()` says how new the data it last read was. Bookmarks of one database compare as
// strings (the later one is the larger).
//
// What the index needs: once this isolate has seen position N of the change feed (a request read
// it, or the cron applied it here), no later read in this isolate may see less, or a tag could
// move back to an older manifest between two requests of one pull. So every query runs in a
// session started from the newest bookmark this isolate has seen, and its own bookmark is kept if
// newer. Across isolates there is no such order, and none is needed: an isolate behind another
// has fewer entries, and a miss is answered by the origin (issue 8 §5), so it can be stale but
// never wrong. Writes (the cron's feed pages) go to the primary in any case; the cron reads its
// position with `first-primary`, so it never re-applies or skips a page on a lagging replica.

import type { SqlStore } from '../index/sql-store.ts'
import { d1Store, type D1Like } from './d1-store.ts'

/** The part of D1Database the sessions use. */
export interface D1WithSessions {
  withSession(constraintOrBookmark?: string): D1Session
}

export type D1Session = D1Like & { getBookmark(): string | null }

/** The newest bookmark one isolate has seen (module state in the Worker: one per isolate). */
export interface BookmarkKeeper {
  latest(): string | null
  observe(bookmark: string | null): void
}

export function createBookmarkKeeper(): BookmarkKeeper {
  let latest: string | null = null
  return {
    latest: () => latest,
    observe(bookmark) {
      if (bookmark !== null && (latest === null || bookmark > latest)) latest = bookmark
    },
  }
}

/**
 * A SqlStore whose every query (or batch) runs in a fresh session started from the isolate's newest
 * bookmark (`first-unconstrained` before it has one: any replica will do for a first read).
 */
export function monotonicD1Store(db: D1WithSessions, bookmarks: BookmarkKeeper): SqlStore {
  async function inSession<T>(run: (store: SqlStore) => Promise<T>): Promise<T> {
    const session = db.withSession(bookmarks.latest() ?? 'first-unconstrained')
    try {
      return await run(d1Store(session))
    } finally {
      bookmarks.observe(session.getBookmark())
    }
  }
  return {
    async exec() {
      throw new Error('the region index sets up its schema with batch(), never exec()')
    },
    all: (sql, params) => inSession((store) => store.all(sql, params)),
    batch: (statements) => inSession((store) => store.batch(statements)),
  }
}

/** A store reading the primary (the cron's feed sync), its bookmark kept for the isolate's reads. */
export function primaryD1Store(db: D1WithSessions, bookmarks: BookmarkKeeper): SqlStore {
  const session = db.withSession('first-primary')
  const store = d1Store(session)
  const observed = <T>(p: Promise<T>) => p.finally(() => bookmarks.observe(session.getBookmark()))
  return {
    exec: (sql) => store.exec(sql),
    all: (sql, params) => observed(store.all(sql, params)),
    batch: (statements) => observed(store.batch(statements)),
  }
}
