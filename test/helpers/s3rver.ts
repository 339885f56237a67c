// A real S3 API on loopback for tests: s3rver in-process, on a free port, in a temp directory.
// s3rver 3.7.1 lacks AbortMultipartUpload, ListParts, ListMultipartUploads and UploadPartCopy, and
// ignores a Range of `bytes=0-0` (it serves the whole object); the s3 driver copes with all of it.

import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** What to pass to createS3Engine (with the endpoint) to reach an s3rver. */
export const S3RVER_CLIENT = {
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
} as const

interface S3rverConstructorOptions {
  address: string
  port: number
  silent: boolean
  directory: string
  configureBuckets: Array<{ name: string; configs: string[] }>
}

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>
  close(): Promise<void>
  httpServer?: Server
}

// s3rver is CommonJS without type declarations; require() it and describe the part we use.
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: S3rverConstructorOptions) => S3rverInstance

export interface RunningS3rver {
  endpoint: string
  port: number
  stop(): Promise<void>
}

export interface S3rverOptions {
  buckets?: string[]
  /** A fixed port, e.g. to bring a "down" location back where clients expect it; free one if 0. */
  port?: number
}

export async function startS3rver({ buckets = [], port: wantedPort = 0 }: S3rverOptions = {}): Promise<RunningS3rver> {
  const directory = await mkdtemp(join(tmpdir(), 'meridian-s3rver-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: wantedPort,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  })
  const { port } = await server.run()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      const closed = server.close()
      // Clients keep sockets alive; close() would otherwise wait for them to time out.
      server.httpServer?.closeAllConnections()
      await closed
      await rm(directory, { recursive: true, force: true })
    },
  }
}
