import { Storage } from '@google-cloud/storage'
import { describe, expect, it } from 'vitest'
import { testEngine } from '../conformance.ts'
import { createGcsEngine } from './gcs.ts'

// The conformance suite needs a GCS JSON API server on loopback, and none installs offline from
// the registries this project reaches: fake-gcs-server ships as a Go binary or Docker image, the
// gcp-storage-emulator and Google's storage-testbench are on PyPI only, and firebase-tools'
// storage emulator needs Java 21 and a rules runtime it downloads; run in-process through its
// internals it serves simple uploads, reads, ranges, lists and deletes, but finalizes every
// resumable chunk (so a multi-chunk put is neither atomic nor finishes) and answers rewrite
// (copy) with 501. So the suite runs only when MERIDIAN_TEST_GCS_ENDPOINT names a server (e.g.
// fake-gcs-server with `-scheme http`), and is skipped otherwise: the only skip allowed.
const endpoint = process.env.MERIDIAN_TEST_GCS_ENDPOINT
const bucket = process.env.MERIDIAN_TEST_GCS_BUCKET ?? 'meridian'

async function ensureBucket(apiEndpoint: string): Promise<void> {
  const storage = new Storage({ apiEndpoint, projectId: 'meridian-test' })
  const [exists] = await storage.bucket(bucket).exists()
  if (!exists) await storage.createBucket(bucket)
}

describe.skipIf(!endpoint)('gcs against MERIDIAN_TEST_GCS_ENDPOINT', () => {
  testEngine('gcs', async () => {
    await ensureBucket(endpoint!)
    // 256 KiB chunks send most conformance bodies through the chunked resumable upload.
    return { engine: createGcsEngine({ location: 'test-gcs', bucket, apiEndpoint: endpoint, projectId: 'meridian-test', chunkSize: 256 * 1024 }) }
  })

  testEngine('gcs under a key prefix, 8 MiB chunks', async () => {
    await ensureBucket(endpoint!)
    return { engine: createGcsEngine({ location: 'test-gcs-prefixed', bucket, apiEndpoint: endpoint, projectId: 'meridian-test', prefix: 'eu-west' }) }
  })
})

// These need no server.
describe('gcs engine', () => {
  it('fails fast and typed when the location is down', async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const engine = createGcsEngine({ location: 'down', bucket: 'meridian', apiEndpoint: 'http://127.0.0.1:9', projectId: 'p' })
    const started = Date.now()
    await expect(engine.stat('blobs/x')).rejects.toMatchObject({ name: 'StorageError', kind: 'unavailable', location: 'down' })
    await expect(engine.put('blobs/x', new Blob(['small']).stream())).rejects.toMatchObject({ name: 'StorageError', kind: 'unavailable' })
    await expect(engine.list('blobs/')).rejects.toMatchObject({ kind: 'unavailable' })
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('answers null from presign when the client has no signing credentials', async () => {
    const engine = createGcsEngine({ location: 'anonymous', bucket: 'meridian', apiEndpoint: 'http://127.0.0.1:9', projectId: 'p' })
    expect(await engine.presign('blobs/x')).toBeNull()
  })

  it("rethrows a failing body's own error unchanged", async () => {
    const engine = createGcsEngine({ location: 'down', bucket: 'meridian', apiEndpoint: 'http://127.0.0.1:9', projectId: 'p' })
    const gone = new Error('client went away')
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(gone)
      },
    })
    await expect(engine.put('blobs/x', body)).rejects.toBe(gone)
  })
})
