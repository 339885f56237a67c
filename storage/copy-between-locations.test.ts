// Server-side copy from one location to another (copySource → copyFrom): the bytes never pass
// through Meridian; engines of different kinds decline and the caller streams instead.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StorageEngine } from './engine.ts'
import { guardEngine } from './guard.ts'
import { createFsEngine } from './drivers/fs.ts'
import { createS3Engine } from './drivers/s3.ts'
import { createAzureEngine } from './drivers/azure.ts'
import { startS3rver, S3RVER_CLIENT, type RunningS3rver } from '../test/helpers/s3rver.ts'
import { startAzurite, type RunningAzurite } from '../test/helpers/azurite.ts'

const KEY = 'blobs/sha256/ab/abcdef'
const bytes = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31) % 251)
const body = () => new Response(bytes).body!

async function read(engine: StorageEngine, key: string): Promise<string> {
  const got = await engine.get(key)
  if (!got) return 'missing'
  const h = createHash('sha256')
  for await (const chunk of got.body as unknown as AsyncIterable<Uint8Array>) h.update(chunk)
  return h.digest('hex')
}

const expected = createHash('sha256').update(bytes).digest('hex')

async function copyBetween(from: StorageEngine, to: StorageEngine): Promise<boolean> {
  const source = await from.copySource!(KEY)
  expect(source).not.toBeNull()
  return (await to.copyFrom!(source!, KEY, bytes.byteLength)) !== null
}

describe('server-side copy between locations', () => {
  let dir: string
  let s3: RunningS3rver
  let azurite: RunningAzurite
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-copy-'))
    s3 = await startS3rver({ buckets: ['one', 'two'] })
    azurite = await startAzurite({ containers: ['one', 'two'] })
  })
  afterAll(async () => {
    await azurite?.stop()
    await s3?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const fs = (id: string) => guardEngine(createFsEngine({ location: id, root: join(dir, id) }))
  const s3Engine = (id: string, bucket: string) => guardEngine(createS3Engine({ location: id, bucket, endpoint: s3.endpoint, ...S3RVER_CLIENT }))
  const azure = (id: string, container: string) => guardEngine(createAzureEngine({ location: id, container, connectionString: azurite.connectionString }))

  it('copies between two fs locations as an independent file', async () => {
    const [a, b] = [fs('fs-a'), fs('fs-b')]
    await a.put(KEY, body())
    expect(await copyBetween(a, b)).toBe(true)
    expect(await read(b, KEY)).toBe(expected)
    await a.delete(KEY)
    expect(await read(b, KEY)).toBe(expected)
  })

  it('fs hands the copy to the check before it is published, and says so', async () => {
    const [a, b] = [fs('fs-check-a'), fs('fs-check-b')]
    await a.put(KEY, body())
    let seen = ''
    let publishedDuringCheck: string | null = null
    const copied = await b.copyFrom!((await a.copySource!(KEY))!, KEY, bytes.byteLength, async (copy) => {
      publishedDuringCheck = await read(b, KEY)
      const h = createHash('sha256')
      for await (const chunk of copy as unknown as AsyncIterable<Uint8Array>) h.update(chunk)
      seen = h.digest('hex')
    })
    expect(copied?.checked).toBe(true)
    expect(seen).toBe(expected)
    expect(publishedDuringCheck).toBe('missing')
    expect(await read(b, KEY)).toBe(expected)
  })

  it('fs publishes nothing the check refuses, leaves no temp file, and the refusal comes out unchanged', async () => {
    const [a, b] = [fs('fs-refuse-a'), fs('fs-refuse-b')]
    await a.put(KEY, body())
    const refusal = new Error('not these bytes')
    const source = (await a.copySource!(KEY))!
    await expect(b.copyFrom!(source, KEY, bytes.byteLength, async () => { throw refusal })).rejects.toBe(refusal)
    expect(await read(b, KEY)).toBe('missing')
    expect(readdirSync(join(dir, 'fs-refuse-b', '.tmp'))).toEqual([])
    // A check that stops reading early and accepts: its file is closed, the copy published.
    const early = await b.copyFrom!(source, KEY, bytes.byteLength, async (copy) => { await copy.getReader().read() })
    expect(early?.checked).toBe(true)
    expect(await read(b, KEY)).toBe(expected)
  })

  it('copies between two buckets of one S3 service with CopyObject', async () => {
    const [a, b] = [s3Engine('s3-a', 'one'), s3Engine('s3-b', 'two')]
    await a.put(KEY, body())
    expect(await copyBetween(a, b)).toBe(true)
    expect(await read(b, KEY)).toBe(expected)
  })

  it('copies between two Azure containers from a SAS URL', async () => {
    const [a, b] = [azure('az-a', 'one'), azure('az-b', 'two')]
    await a.put(KEY, body())
    expect(await copyBetween(a, b)).toBe(true)
    expect(await read(b, KEY)).toBe(expected)
  })

  it('declines across kinds, and across S3 services, so the caller streams', async () => {
    const source = fs('fs-c')
    await source.put(KEY, body())
    expect(await copyBetween(source, s3Engine('s3-c', 'two'))).toBe(false)
    const other = guardEngine(createS3Engine({ location: 's3-other', bucket: 'two', endpoint: 'http://127.0.0.1:1', ...S3RVER_CLIENT }))
    const s3Source = s3Engine('s3-d', 'one')
    await s3Source.put(KEY, body())
    expect(await copyBetween(s3Source, other)).toBe(false)
  })

  it('answers null for a source object that does not exist', async () => {
    expect(await fs('fs-empty').copySource!('blobs/sha256/00/missing')).toBeNull()
  })
})
