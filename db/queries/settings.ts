// Deployment-wide settings written once (db/schema.ts `settings`): the deployment id, and which
// local-disk location roots have been set up. A row, once there, is never changed (except
// `changes_pruned_through`, the change log's watermark, which db/queries/change-pruning.ts raises).

import { eq } from 'drizzle-orm'
import type { Db } from '../client.ts'
import { settings } from '../schema.ts'

/** The value of `name`, or null. */
export async function readSetting(db: Db, name: string): Promise<string | null> {
  return (await db.select({ value: settings.value }).from(settings).where(eq(settings.name, name)).get())?.value ?? null
}

/** Stores `value` under `name` unless a value is already there; returns the value that stands. */
export async function settleSetting(db: Db, name: string, value: string, now = Date.now()): Promise<string> {
  return db.transaction(async (tx) => {
    await tx.insert(settings).values({ name, value, createdAt: now }).onConflictDoNothing().run()
    return (await tx.select({ value: settings.value }).from(settings).where(eq(settings.name, name)).get())!.value
  })
}

/**
 * This deployment's id: made by the first process that asks, then the same for every origin,
 * worker and script sharing the database. Local-disk location markers carry it.
 */
export async function deploymentId(db: Db): Promise<string> {
  return (await readSetting(db, 'deployment_id')) ?? settleSetting(db, 'deployment_id', crypto.randomUUID())
}

/** When the root of local-disk location `id` was set up (ms), or null if it never was. */
export async function locationRootSetUpAt(db: Db, id: string): Promise<number | null> {
  const value = await readSetting(db, `location_root:${id}`)
  return value === null ? null : Number(value)
}

export async function recordLocationRootSetUp(db: Db, id: string, now = Date.now()): Promise<void> {
  await settleSetting(db, `location_root:${id}`, String(now), now)
}
