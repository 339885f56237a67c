import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startS3rver, S3RVER_CLIENT, type RunningS3rver } from '../../test/helpers/s3rver.ts'
import { testEngine } from '../conformance.ts'
import { createS3Engine } from './s3.ts'

let s3: RunningS3rver
beforeAll(async () => {
  s3 = await startS3rver({ buckets: ['meridian'] })
})
afterAll(() => s3?.stop())

testEngine('s3 (s3rver)', async () => ({
  engine: createS3Engine({ ...S3RVER_CLIENT, location: 'test-s3', bucket: 'meridian', endpoint: s3.endpoint }),
}))

// Several locations may share a bucket, each under its own prefix.
testEngine('s3 (s3rver) under a key prefix', async () => ({
  engine: createS3Engine({ ...S3RVER_CLIENT, location: 'test-s3-prefixed', bucket: 'meridian', endpoint: s3.endpoint, prefix: 'eu-west', partSize: 5 * 1024 * 1024 }),
}))

describe('s3 engine', () => {
  it('fails fast and typed when the location is down', async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const engine = createS3Engine({ ...S3RVER_CLIENT, location: 'down', bucket: 'meridian', endpoint: 'http://127.0.0.1:9' })
    const started = Date.now()
    await expect(engine.stat('blobs/x')).rejects.toMatchObject({ name: 'StorageError', kind: 'unavailable', location: 'down' })
    expect(Date.now() - started).toBeLessThan(5000)
    await engine.close?.()
  })

  it('keeps credentials out of error messages', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    const engine = createS3Engine({ location: 'wrong-key', bucket: 'meridian', region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: secret } })
    const failure = await engine.put('blobs/x', new Blob(['x']).stream()).then(() => null, (err: unknown) => err as Error) as Error
    expect(failure).toMatchObject({ name: 'StorageError', kind: 'denied' })
    const text = `${failure.message} ${(failure.cause as Error).message} ${(failure.cause as Error).stack}`
    expect(text).not.toContain(secret)
    expect(text).not.toContain('AKIAIOSFODNN7EXAMPLE')
    await engine.close?.()
  })

  it('reports a missing bucket as an unavailable location, not a missing object', async () => {
    const engine = createS3Engine({ ...S3RVER_CLIENT, location: 'no-bucket', bucket: 'no-such-bucket', endpoint: s3.endpoint })
    await expect(engine.get('blobs/x')).rejects.toMatchObject({ kind: 'unavailable' })
    await engine.close?.()
  })
})
