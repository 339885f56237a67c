// A second real S3 API on loopback: moto's server (Python; on this machine's image with pip's
// moto), for the calls s3rver lacks (ListMultipartUploads, ListParts, AbortMultipartUpload).
// Tests that need it skip when `moto_server` is not on PATH.

import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { freePort } from '../../scripts/bench/origin-process.ts'

export const MOTO_CLIENT = {
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
} as const

export function motoAvailable(): boolean {
  return spawnSync('moto_server', ['--help'], { stdio: 'ignore', timeout: 20_000 }).status === 0
}

export async function startMoto(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const port = await freePort()
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  const endpoint = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    const res = await fetch(endpoint).catch(() => null)
    if (res) { await res.body?.cancel(); return { endpoint, stop } }
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop()
      throw new Error('moto_server did not start')
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}
