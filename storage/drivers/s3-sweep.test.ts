// The s3 driver's temporary sweep: multipart uploads a crashed put left open are aborted once idle
// past the cut-off, a recent one is kept, objects are never touched; a store without
// ListMultipartUploads (s3rver) has nothing to sweep. Real S3 APIs on loopback: moto and s3rver.

import { CreateBucketCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { motoAvailable, MOTO_CLIENT, startMoto } from '../../test/helpers/moto.ts'
import { startS3rver, S3RVER_CLIENT } from '../../test/helpers/s3rver.ts'
import { createS3Engine } from './s3.ts'

const HOUR = 3_600_000

describe.skipIf(!motoAvailable())('s3 temporary sweep (moto)', () => {
  let moto: Awaited<ReturnType<typeof startMoto>>
  let client: S3Client
  beforeAll(async () => {
    moto = await startMoto()
    client = new S3Client({ ...MOTO_CLIENT, endpoint: moto.endpoint })
    await client.send(new CreateBucketCommand({ Bucket: 'meridian' }))
  })
  afterAll(async () => {
    client?.destroy()
    await moto?.stop()
  })

  /** What a put killed between parts leaves: an upload with one 5 MiB part, never completed. */
  async function crashedPut(key: string): Promise<void> {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'meridian', Key: key }))
    await client.send(new UploadPartCommand({ Bucket: 'meridian', Key: key, UploadId, PartNumber: 1, Body: new Uint8Array(5 * 1024 * 1024) }))
  }
  const openUploads = async () => (await client.send(new ListMultipartUploadsCommand({ Bucket: 'meridian' }))).Uploads?.map((u) => u.Key) ?? []

  it('aborts the open multipart uploads under its prefix once idle past the cut-off, and only those', async () => {
    const engine = createS3Engine({ ...MOTO_CLIENT, location: 'eu', bucket: 'meridian', endpoint: moto.endpoint, prefix: 'eu' })
    await crashedPut('eu/blobs/sha256/aa/crashed')
    await crashedPut('us/blobs/sha256/bb/another-location')
    await engine.put('blobs/sha256/cc/kept', new Blob(['object']).stream())

    // Just written: within any cut-off in the past, a live put might still be adding parts.
    expect(await engine.sweepTemporary!(new Date(Date.now() - HOUR))).toEqual({ items: 0, bytes: 0 })
    expect(await engine.sweepTemporary!(new Date(Date.now() + HOUR), { dryRun: true })).toEqual({ items: 1, bytes: 5 * 1024 * 1024 })
    expect(await engine.sweepTemporary!(new Date(Date.now() + HOUR))).toEqual({ items: 1, bytes: 5 * 1024 * 1024 })
    expect(await openUploads()).toEqual(['us/blobs/sha256/bb/another-location'])

    // A location without a prefix shares the bucket root: it sweeps its own layout, not 'us/...'.
    const root = createS3Engine({ ...MOTO_CLIENT, location: 'root', bucket: 'meridian', endpoint: moto.endpoint })
    await crashedPut('uploads/0d6f4b39-5c07-4ad2-9f43-b5d0b11e9c1a/00000000.ab')
    expect(await root.sweepTemporary!(new Date(Date.now() + HOUR))).toEqual({ items: 1, bytes: 5 * 1024 * 1024 })
    expect(await openUploads()).toEqual(['us/blobs/sha256/bb/another-location'])
    await root.close?.()
    expect(await engine.stat('blobs/sha256/cc/kept')).toMatchObject({ size: 6 })
    await engine.close?.()
  })
})

describe('s3 temporary sweep (s3rver)', () => {
  it('has nothing to sweep where the store lacks ListMultipartUploads, and says so without failing', async () => {
    const s3 = await startS3rver({ buckets: ['meridian'] })
    const engine = createS3Engine({ ...S3RVER_CLIENT, location: 's3rver', bucket: 'meridian', endpoint: s3.endpoint })
    try {
      expect(await engine.sweepTemporary!(new Date(Date.now() + HOUR))).toEqual({ items: 0, bytes: 0 })
    } finally {
      await engine.close?.()
      await s3.stop()
    }
  })
})
