// Whether the database already refers to a location: a placement (present or missing), an upload
// session, or a replication job copying into it or out of it. Such a location held bytes once,
// so its storage being absent or empty now means it is unreachable (an unmounted volume), never
// that it is new (origin/location-roots.ts).

import { eq } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { placements, replicationJobs, uploads } from '../schema.ts'

/** True when any placement, upload session or replication job names location `id`. */
export async function isLocationReferenced(db: Db, id: string): Promise<boolean> {
  return (await db.select({ one: placements.location }).from(placements).where(eq(placements.location, id)).limit(1).get()) !== undefined
    || (await db.select({ one: uploads.id }).from(uploads).where(eq(uploads.location, id)).limit(1).get()) !== undefined
    || (await db.select({ one: replicationJobs.id }).from(replicationJobs).where(eq(replicationJobs.location, id)).limit(1).get()) !== undefined
    || (await db.select({ one: replicationJobs.id }).from(replicationJobs).where(eq(replicationJobs.sourceLocation, id)).limit(1).get()) !== undefined
}
