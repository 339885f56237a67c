// The worker killed with SIGKILL mid-copy, several times at random instants: once it runs again
// every job finishes, and no placement ever names bytes that are not there.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { eq } from 'drizzle-orm'
import { startTestOrigin, type TestOrigin } from '../helpers/origin.ts'
import { pushBlob, randomBytes, uniqueName } from '../helpers/registry-client.ts'
import { placementProblems, presentMap, waitForReplication } from '../helpers/replication.ts'
import { replicationJobs } from '../../db/schema.ts'
import { testDatabaseUrl } from '../helpers/test-database.ts'

const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..')

function startWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'origin/worker-main.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' })
}

describe('replication worker crash safety', () => {
  let dataDir: string
  let origin: TestOrigin
  let env: Record<string, string>
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'meridian-crash-'))
    const configPath = join(dataDir, 'meridian.yaml')
    writeFileSync(configPath, stringify({
      locations: {
        'us-east': { driver: 'fs', lat: 39, lon: -77.5, replicateByDefault: true },
        'eu-west': { driver: 'fs', lat: 53.3, lon: -6.3, replicateByDefault: true },
        'ap-south': { driver: 'fs', lat: 19.1, lon: 72.9, replicateByDefault: true },
      },
      preference: ['us-east', 'eu-west', 'ap-south'],
      replication: { workerInProcess: false, leaseSeconds: 1, concurrency: 3, backoffBaseMs: 50, backoffMaxMs: 500 },
    }))
    // The worker is a second process on the origin's database.
    env = { MERIDIAN_CONFIG: configPath, MERIDIAN_DATA_DIR: dataDir, DATABASE_URL: await testDatabaseUrl(dataDir) }
    origin = await startTestOrigin({ env, dataDir })
  })
  afterAll(async () => {
    await origin?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('finishes every job after repeated SIGKILLs mid-copy, with no placement lacking bytes', async () => {
    const blobs = []
    for (let i = 0; i < 8; i++) blobs.push(await pushBlob(origin.url, uniqueName('crash'), randomBytes(12 * 1024 * 1024 + i)))
    let kills = 0
    for (let round = 0; round < 4; round++) {
      const worker = startWorker(env)
      const exited = new Promise((r) => worker.once('exit', r))
      // Wait until it holds a job, then kill it at a random instant of the copy.
      const running = await pollUntil(async () => (await origin.db.select().from(replicationJobs).where(eq(replicationJobs.state, 'running')).all()).length > 0 || await allDone(origin), 20_000)
      if (!running || await allDone(origin)) { worker.kill('SIGKILL'); await exited; break }
      await new Promise((r) => setTimeout(r, Math.random() * 60))
      worker.kill('SIGKILL')
      await exited
      kills++
      expect(await placementProblems(origin.db, origin.locations)).toEqual([])
    }
    expect(kills).toBeGreaterThanOrEqual(2)
    const worker = startWorker(env)
    try {
      await waitForReplication(origin.db, { timeoutMs: 60_000 })
    } finally {
      worker.kill('SIGTERM')
    }
    for (const b of blobs) expect([...(await presentMap(origin.db)).get(b.digest)!].sort()).toEqual(['ap-south', 'eu-west', 'us-east'])
    expect(await placementProblems(origin.db, origin.locations)).toEqual([])
    const states = (await origin.db.select({ state: replicationJobs.state }).from(replicationJobs).all()).map((r) => r.state)
    expect(new Set(states)).toEqual(new Set(['done']))
  }, 120_000)
})

async function allDone(origin: TestOrigin): Promise<boolean> {
  return (await origin.db.select().from(replicationJobs).all()).every((j) => j.state === 'done')
}

async function pollUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 10))
  }
  return false
}
