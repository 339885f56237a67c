// The feed's pieces as the origin server wires them: the waiters long polls share, the
// location.health recorder, and the routes. One object, so origin/server.ts stays a few lines.

import type { Hono } from 'hono'
import type { Db } from '../../db/client.ts'
import { createChangeWaiters } from './change-waiters.ts'
import type { EdgeCredentialOptions } from './edge-credential.ts'
import { createHealthRecorder } from './health-changes.ts'
import { createFeedRoutes } from './routes.ts'
import { prepareFeedQueries } from '../../db/queries/feed.ts'
import { describeError, silentLogger, type Logger } from '../log.ts'

export interface Feed {
  routes(credential: EdgeCredentialOptions): Hono
  /** This process committed changes: wake long polls now. */
  notify(): void
  /** LocationSet's onHealthChange. */
  recordHealth(location: string, readable: boolean): void
  close(): void
}

export function startFeed(db: Db, log: Logger = silentLogger): Feed {
  const queries = prepareFeedQueries(db)
  const waiters = createChangeWaiters({
    readHead: queries.head,
    onError: (err) => log.warn('reading the change log head failed, long polls check again', { error: describeError(err) }),
  })
  const health = createHealthRecorder({
    db, onAppend: waiters.notify,
    onError: (err) => log.warn('appending a location.health change failed, retried', { error: describeError(err) }),
  })
  return {
    routes: (credential) => createFeedRoutes({ ...credential, db, waiters }),
    notify: waiters.notify,
    recordHealth: health.record,
    close() {
      health.close()
      waiters.close()
    },
  }
}
