// The floor under the replication-lag figure, measured in the same run: per blob, the storage
// work alone of replicating it to the two other locations, through the same fs driver and the
// same steps as the worker (origin/replication/copy.ts: a server-side copy, read back and
// verified while it is fsynced, then renamed into place), both targets at once, blobs back to back, and no
// database, no claim, no wake-up. Replication lag minus this floor is what the coordination
// (commit, notify, claim, complete) costs.

import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { sha256 } from './scale-push.ts'
import { createNativeHasher } from '../../origin/hasher.ts'
import { verifyBody } from '../../origin/replication/verify.ts'
import { createFsEngine } from '../../storage/drivers/fs.ts'
import { blobKey } from '../../storage/keys.ts'
import { lags, type Lags } from './scale-lag.ts'

export async function storageFloor(scratch: string, o: { count: number; bytes: number; warmUp?: number }): Promise<Lags> {
  const dir = mkdtempSync(join(scratch, 'floor-'))
  try {
    const [source, ...targets] = ['a', 'b', 'c'].map((id) => createFsEngine({ location: id, root: join(dir, id) }))
    const samples: number[] = []
    const warmUp = o.warmUp ?? 3
    for (let i = 0; i < warmUp + o.count; i++) {
      const bytes = randomBytes(o.bytes)
      const digest = sha256(bytes)
      await source.put(blobKey(digest), Readable.toWeb(Readable.from([bytes])) as ReadableStream<Uint8Array>, { size: bytes.byteLength })
      const started = performance.now()
      await Promise.all(targets.map(async (target) => {
        const from = await source.copySource!(blobKey(digest))
        const copied = from && await target.copyFrom!(from, blobKey(digest), bytes.byteLength, async (body) => {
          const check = await verifyBody(body, digest, bytes.byteLength, createNativeHasher)
          if (!check.ok) throw new Error(`floor copy failed verification: ${check.problem}`)
        })
        if (!copied?.checked) throw new Error('fs copy refused')
      }))
      if (i >= warmUp) samples.push(performance.now() - started)
    }
    return lags(samples)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
