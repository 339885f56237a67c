// The s3 driver's copy of objects past CopyObject's 5 GiB limit (UploadPartCopy, part by part)
// against moto, a real S3 API on loopback that has UploadPartCopy (s3rver lacks it). The limit and
// the parts are made small so the path runs on 12 MiB instead of 5 GiB.

import { CreateBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { motoAvailable, MOTO_CLIENT, startMoto } from '../../test/helpers/moto.ts'
import { expectBytes, patterned, patternStream, readAll, sha256Of } from '../conformance-bytes.ts'
import { createS3Engine } from './s3.ts'

const MiB = 1024 * 1024

describe.skipIf(!motoAvailable())('s3 copies past the single-copy limit (moto)', () => {
  let moto: Awaited<ReturnType<typeof startMoto>>
  let client: S3Client
  beforeAll(async () => {
    moto = await startMoto()
    client = new S3Client({ ...MOTO_CLIENT, endpoint: moto.endpoint })
    for (const Bucket of ['copy-eu', 'copy-us']) await client.send(new CreateBucketCommand({ Bucket }))
  })
  afterAll(async () => {
    client?.destroy()
    await moto?.stop()
  })

  const engine = (bucket: string) => createS3Engine({
    location: `moto-${bucket}`, bucket: `copy-${bucket}`, endpoint: moto.endpoint, ...MOTO_CLIENT, singleCopyLimit: 5 * MiB, copyPartSize: 5 * MiB,
  })

  it('copies within a bucket and between buckets with UploadPartCopy, byte for byte, leaving no upload open', async () => {
    const eu = engine('eu')
    const us = engine('us')
    const size = 12 * MiB + 3
    await eu.put('big', patternStream(size, MiB), { size })
    const expected = await sha256Of(patternStream(size, MiB))

    expect(await eu.copy!('big', 'big-copy')).toMatchObject({ key: 'big-copy', size })
    // A multipart ETag names its part count: three UploadPartCopy parts of 5 MiB, not a CopyObject.
    expect((await client.send(new HeadObjectCommand({ Bucket: 'copy-eu', Key: 'big-copy' }))).ETag).toMatch(/-3"$/)
    expect(await sha256Of((await eu.get('big-copy'))!.body)).toEqual(expected)
    // Part boundaries (5 MiB, 10 MiB) land where the bytes should.
    const ranged = await eu.get('big-copy', { range: { start: 5 * MiB - 4, end: 10 * MiB + 3 } })
    expectBytes(await readAll(ranged!.body), patterned(5 * MiB - 4, 5 * MiB + 8))

    const source = await eu.copySource!('big')
    expect(await us.copyFrom!(source!, 'big', size)).toMatchObject({ key: 'big', size })
    expect(await sha256Of((await us.get('big'))!.body)).toEqual(expected)

    for (const Bucket of ['copy-eu', 'copy-us']) expect((await client.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads ?? []).toEqual([])
    await Promise.all([eu.close?.(), us.close?.()])
  })

  it('answers null for a missing source', async () => {
    const eu = engine('eu')
    expect(await eu.copy!('missing', 'elsewhere')).toBeNull()
    await eu.close?.()
  })
})
