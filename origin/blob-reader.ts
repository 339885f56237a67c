// Reads a blob's bytes from the best location that holds it: preference order, healthy first,
// falling back to the next on failure (a pull never fails while another copy exists).

import type { ByteRange, GetResult } from '../storage/engine.ts'
import { blobKey } from '../storage/keys.ts'
import { ociError } from '../oci/errors.ts'
import { enqueueReplication, markPlacementMissing, presentLocations } from '../db/queries/placements.ts'
import type { ResolvedDeps } from './deps.ts'
import { describeError } from './log.ts'

export async function openBlob(deps: ResolvedDeps, digest: string, range?: ByteRange): Promise<GetResult & { location: string }> {
  const candidates = deps.locations.readOrder(await presentLocations(deps.db, digest))
  let failures = 0
  for (const location of candidates) {
    try {
      const got = await location.engine.get(blobKey(digest), { range })
      if (got) return { ...got, location: location.id }
      await forgetMissingBytes(deps, digest, location.id)
    } catch (err) {
      failures++
      deps.locations.markDown(location.id, err)
      deps.log.warn('location read failed, trying the next', { digest, location: location.id, error: describeError(err) })
    }
  }
  if (failures > 0) throw ociError('UNAVAILABLE', { message: 'no location holding the blob is reachable', detail: { digest } })
  throw ociError('BLOB_UNKNOWN', { detail: { digest } })
}

/**
 * A placement said 'present' but the location has no bytes (deleted by hand, a lost volume): mark
 * it missing so no read tries it again, and have the worker copy the blob back from a good one.
 */
export async function forgetMissingBytes(deps: Pick<ResolvedDeps, 'db' | 'log'>, digest: string, location: string): Promise<void> {
  deps.log.warn('placement named missing bytes; marked missing, a new copy is queued', { digest, location })
  await deps.db.transaction(async (tx) => {
    await markPlacementMissing(tx, digest, location)
    await enqueueReplication(tx, digest, [location])
  })
}
