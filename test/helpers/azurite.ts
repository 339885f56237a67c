// A real Azure Blob API on loopback for tests: azurite's blob service as a child process, on a
// free port, in memory, telemetry off. Where azurite 3.35 differs from Azure (the azure driver
// copes with each): a range starting at the last byte + 1 (any range, on an empty blob) gets 206
// with `Content-Range: bytes 100-99/100` instead of 416; Put Block From URL answers 501; List
// Blobs ignores `startFrom`. `--inMemoryPersistence` refuses `--location`.

import { spawn } from 'node:child_process'
import { mkdtemp, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BlobServiceClient } from '@azure/storage-blob'
import { waitForReady } from './child-ready.ts'

/** Azurite's built-in development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = {
  accountName: 'devstoreaccount1',
  accountKey: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const

export interface RunningAzurite {
  connectionString: string
  accountName: string
  accountKey: string
  /** `http://127.0.0.1:<port>/devstoreaccount1`: the blob service URL, the engine's `endpoint`. */
  blobEndpoint: string
  port: number
  stop(): Promise<void>
}

export interface AzuriteOptions {
  /** Containers to create once it is up. */
  containers?: string[]
  /** A fixed port, e.g. to bring a "down" location back where clients expect it; free one if 0. */
  port?: number
  /** Keep blobs on disk (in the temp working directory) instead of in memory: for GiB-sized blobs. */
  onDisk?: boolean
}

const BIN = fileURLToPath(new URL('../../node_modules/.bin/azurite-blob', import.meta.url))
const READY = /successfully listens on (http:\/\/\S+)/
const START_TIMEOUT_MS = 30_000

export async function startAzurite({ containers = [], port: wantedPort = 0, onDisk = false }: AzuriteOptions = {}): Promise<RunningAzurite> {
  // In-memory persistence rules out --location, so the working directory is the one place azurite
  // could write to (it should not): a temp one, removed on stop.
  const workdir = await mkdtemp(join(tmpdir(), 'meridian-azurite-'))
  const child = spawn(process.execPath, [
    await realpath(BIN),
    '--blobHost', '127.0.0.1',
    '--blobPort', String(wantedPort),
    ...(onDisk ? ['--location', workdir] : ['--inMemoryPersistence']),
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--loose',
  ], { cwd: workdir, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  const url = await waitForReady(child, {
    name: 'azurite', timeoutMs: START_TIMEOUT_MS, streams: [child.stdout, child.stderr], exited,
    ready: (output) => READY.exec(output)?.[1] ?? null,
    cleanUp: () => rm(workdir, { recursive: true, force: true }),
  })
  // Keep draining its output (the access log), or a full pipe would stall it.
  child.stdout.resume()
  child.stderr.resume()

  const port = Number(new URL(url).port)
  const { accountName, accountKey } = AZURITE_ACCOUNT
  const blobEndpoint = `http://127.0.0.1:${port}/${accountName}`
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${accountName};AccountKey=${accountKey};BlobEndpoint=${blobEndpoint};`

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    }
    await rm(workdir, { recursive: true, force: true })
  }

  try {
    const service = BlobServiceClient.fromConnectionString(connectionString)
    for (const name of containers) await service.getContainerClient(name).createIfNotExists()
  } catch (err) {
    await stop()
    throw err
  }
  return { connectionString, accountName, accountKey, blobEndpoint, port, stop }
}
