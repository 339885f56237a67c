// The operator scripts as an operator runs them: npm run backfill and npm run verify. The first
// run is the npm script's own command (tsx); the others run the same source bundled once for the
// file (test/helpers/script-bundle.ts), which spares each ~1.5 s of tsx and module loading.

import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { pushBlob, pushImage, randomBytes } from '../helpers/registry-client.ts'
import { placementProblems, presentMap, waitForReplication } from '../helpers/replication.ts'
import { jobsOf } from '../../db/queries/replication.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'
import { bundleScripts, type ScriptBundle } from '../helpers/script-bundle.ts'

const run = promisify(execFile)
const ROOT = join(new URL('.', import.meta.url).pathname, '..', '..')

let bundle: ScriptBundle

function script(name: string, args: string[], env: Record<string, string>) {
  return bundle.run(name, args, { ...process.env, ...env })
}

/** scripts/<name>.ts as `npm run` runs it: through tsx. */
async function scriptWithTsx(name: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

function writeConfig(dataDir: string, archiveDefault: boolean): string {
  const path = join(dataDir, `meridian-${archiveDefault}.yaml`)
  writeFileSync(path, stringify({
    locations: {
      main: { driver: 'fs', lat: 39, lon: -77.5, replicateByDefault: true },
      mirror: { driver: 'fs', lat: 53.3, lon: -6.3, replicateByDefault: true },
      archive: { driver: 'fs', lat: 50, lon: 8, replicateByDefault: archiveDefault },
    },
    preference: ['main'],
    replication: { workerInProcess: true, reconcileIntervalSeconds: 3600, backoffBaseMs: 20, backoffMaxMs: 100 },
  }))
  return path
}

describe('operator scripts', () => {
  let dataDir: string
  let origin: TestOrigin
  let env: Record<string, string>
  beforeAll(async () => {
    bundle = await bundleScripts(['backfill-replication', 'verify-placements'])
    dataDir = mkdtempSync(join(tmpdir(), 'meridian-scripts-'))
    // One database for every origin and script of the test.
    env = { MERIDIAN_DATA_DIR: dataDir, MERIDIAN_CONFIG: writeConfig(dataDir, false), DATABASE_URL: await testDatabaseUrl(dataDir) }
    origin = await startTestOrigin({ env, dataDir })
    await pushImage(origin.url, 'team/app', 'v1')
    await pushBlob(origin.url, 'other/app', randomBytes(100_000))
    await waitForReplication(origin.db)
    await origin.close()
  })
  afterAll(() => {
    bundle?.remove()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('backfill enqueues a copy of every blob for a location made default, dry run first', async () => {
    const next = { ...env, MERIDIAN_CONFIG: writeConfig(dataDir, true) }
    const dry = await scriptWithTsx('backfill-replication', ['--dry-run'], next)
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(/would enqueue 4 copies of 4 blobs/)
    const ns = await script('backfill-replication', ['--dry-run', '--namespace=other'], next)
    expect(ns.stdout).toMatch(/would enqueue 1 copies of 1 blobs/)
    // Stopped part way (as Ctrl-C stops it), the next run resumes after the saved cursor.
    const first = await script('backfill-replication', ['--limit=2', '--page-size=2'], next)
    expect(first.stdout).toMatch(/enqueued 2 copies of 2 blobs .*not finished/)
    const rest = await script('backfill-replication', ['--page-size=2'], next)
    expect(rest.stderr).toMatch(/resuming after sha256:/)
    expect(rest.stdout).toMatch(/enqueued 2 copies of 2 blobs/)
    const again = await script('backfill-replication', [], next)
    expect(again.stdout).toMatch(/enqueued 0 copies/)
    // The origin's worker does the copying.
    origin = await startTestOrigin({ env: next, dataDir })
    try {
      await waitForReplication(origin.db)
      expect([...(await presentMap(origin.db)).values()].every((where) => where.has('archive'))).toBe(true)
    } finally {
      await origin.close()
    }
  })

  it('verify finds a corrupt copy, and --repair has it copied again from a good one', async () => {
    origin = await startTestOrigin({ env, dataDir })
    const blob = await pushBlob(origin.url, 'team/app', randomBytes(50_000))
    await waitForReplication(origin.db)
    await origin.close()
    const hex = blob.digest.slice('sha256:'.length)
    writeFileSync(join(dataDir, 'locations', 'mirror', 'blobs', 'sha256', hex.slice(0, 2), hex), randomBytes(50_000))
    const found = await script('verify-placements', ['--all'], env)
    expect(found.code).toBe(1)
    expect(found.stdout).toContain(`BAD  ${blob.digest} in mirror: digest`)
    const repaired = await script('verify-placements', ['--all', '--repair'], env)
    expect(repaired.code).toBe(0)
    origin = await startTestOrigin({ env, dataDir })
    try {
      expect((await jobsOf(origin.db, blob.digest)).find((j) => j.location === 'mirror')).toBeTruthy()
      await waitForReplication(origin.db)
      expect((await presentMap(origin.db)).get(blob.digest)!.has('mirror')).toBe(true)
      expect(await placementProblems(origin.db, origin.locations)).toEqual([])
    } finally {
      await origin.close()
    }
    const clean = await script('verify-placements', ['--all'], env)
    expect(clean.code, clean.stdout).toBe(0)
  })
})
